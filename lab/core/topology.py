"""The lab's world: tenants, apps, identities, pools, service accounts, data.

A topology file is TOML whose tables and keys carry the names of the Terraform resources
and attributes that provision the same objects in the real clouds (``azuread_application``,
``google_iam_workload_identity_pool_provider`` ...), so a topology reads like a
``terraform.tfvars`` and what passes in the lab is what Terraform provisions.
"""

from __future__ import annotations

import copy
import csv
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TOPOLOGY = Path(__file__).resolve().parents[1] / "default_topology.toml"

GOOGLE_ISSUER = "https://accounts.google.com"
AZURE_TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


class TopologyError(ValueError):
    """The topology file is malformed or refers to something it does not define."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    display_name: str = ""


@dataclass(frozen=True)
class FederatedIdentityCredential:
    display_name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class Application:
    """An Entra app registration and its service principal."""

    tenant_id: str
    display_name: str
    client_id: str
    service_principal_object_id: str
    identifier_uris: tuple[str, ...] = ()
    requested_access_token_version: int = 1
    password: bool = False
    federated_identity_credentials: tuple[FederatedIdentityCredential, ...] = ()


@dataclass(frozen=True)
class ManagedIdentity:
    """A managed identity. A ``UserAssigned`` one may carry federated identity credentials
    (``azurerm_federated_identity_credential`` with ``parent_id`` = the identity): Entra then grants it
    tokens for a client assertion that matches one, as it does an app registration (Microsoft Learn,
    "Configure a user-assigned managed identity to trust an external identity provider",
    https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity).
    """

    tenant_id: str
    name: str
    client_id: str
    principal_id: str
    type: str = "SystemAssigned"
    federated_identity_credentials: tuple[FederatedIdentityCredential, ...] = ()

    def as_client(self) -> Application:
        """The identity as the token endpoint sees a confidential client (no secret, its own credentials)."""
        return Application(
            tenant_id=self.tenant_id,
            display_name=self.name,
            client_id=self.client_id,
            service_principal_object_id=self.principal_id,
            federated_identity_credentials=self.federated_identity_credentials,
        )


@dataclass(frozen=True)
class RoleAssignment:
    scope: str
    role_definition_name: str
    principal_id: str


@dataclass(frozen=True)
class Blob:
    name: str
    content: str
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class StorageContainer:
    storage_account_name: str
    name: str
    blobs: tuple[Blob, ...] = ()


@dataclass(frozen=True)
class Project:
    project_id: str
    number: str


@dataclass(frozen=True)
class WorkloadIdentityPoolProvider:
    project_id: str
    workload_identity_pool_id: str
    workload_identity_pool_provider_id: str
    issuer_uri: str
    allowed_audiences: tuple[str, ...]
    attribute_mapping: dict[str, str]
    attribute_condition: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class ServiceAccount:
    project_id: str
    account_id: str
    unique_id: str

    @property
    def email(self) -> str:
        return f"{self.account_id}@{self.project_id}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class IamBinding:
    """``resource`` is ``projects/P``, ``projects/P/serviceAccounts/EMAIL`` or ``projects/P/datasets/D``."""

    resource: str
    role: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    table_id: str
    schema: tuple[tuple[str, str], ...]  # (name, BigQuery type)
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Dataset:
    project_id: str
    dataset_id: str
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Runtime:
    """Which identity each serverless host runs as in the lab."""

    metadata_service_account: str  # email of the Cloud Function's runtime service account
    app_service_managed_identity: str  # name of the Function App's managed identity


@dataclass
class Topology:
    """Everything the emulators know. Built with :func:`load`; change a copy with :meth:`evolve`."""

    tenants: list[Tenant]
    applications: list[Application]
    managed_identities: list[ManagedIdentity]
    role_assignments: list[RoleAssignment]
    storage_containers: list[StorageContainer]
    projects: list[Project]
    workload_identity_pools: list[dict[str, Any]]
    workload_identity_pool_providers: list[WorkloadIdentityPoolProvider]
    service_accounts: list[ServiceAccount]
    iam_bindings: list[IamBinding]
    bigquery_datasets: list[Dataset]
    runtime: Runtime
    source: Path | None = field(default=None, compare=False)

    # -- look-ups used by the emulators ---------------------------------------------------
    def tenant(self, tenant_id: str) -> Tenant | None:
        return next((t for t in self.tenants if t.tenant_id.lower() == tenant_id.lower()), None)

    def application(self, tenant_id: str, client_id: str) -> Application | None:
        return next(
            (
                a
                for a in self.applications
                if a.tenant_id.lower() == tenant_id.lower() and a.client_id.lower() == client_id.lower()
            ),
            None,
        )

    def federated_client(self, tenant_id: str, client_id: str) -> Application | None:
        """The app registration, or else the user-assigned identity, with client ID ``client_id`` in the tenant."""
        app = self.application(tenant_id, client_id)
        if app is not None:
            return app
        identity = self.managed_identity(client_id=client_id)
        if (
            identity is None
            or identity.type != "UserAssigned"
            or identity.tenant_id.lower() != tenant_id.lower()
        ):
            return None
        return identity.as_client()

    def application_by_identifier_uri(self, tenant_id: str, uri: str) -> Application | None:
        wanted = uri.rstrip("/")
        for app in self.applications:
            if app.tenant_id.lower() != tenant_id.lower():
                continue
            if wanted in {u.rstrip("/") for u in app.identifier_uris} or wanted == app.client_id:
                return app
        return None

    def managed_identity(
        self, *, client_id: str | None = None, name: str | None = None
    ) -> ManagedIdentity | None:
        for mi in self.managed_identities:
            if (client_id and mi.client_id.lower() == client_id.lower()) or (name and mi.name == name):
                return mi
        return None

    def project(self, key: str) -> Project | None:
        return next((p for p in self.projects if key in (p.project_id, p.number)), None)

    def provider(
        self, project_number: str, pool_id: str, provider_id: str
    ) -> WorkloadIdentityPoolProvider | None:
        project = self.project(project_number)
        if project is None or project.number != project_number:
            return None
        return next(
            (
                p
                for p in self.workload_identity_pool_providers
                if p.project_id == project.project_id
                and p.workload_identity_pool_id == pool_id
                and p.workload_identity_pool_provider_id == provider_id
            ),
            None,
        )

    def pool_disabled(self, project_id: str, pool_id: str) -> bool:
        return any(
            p.get("disabled", False)
            for p in self.workload_identity_pools
            if p["project_id"] == project_id and p["workload_identity_pool_id"] == pool_id
        )

    def service_account(self, key: str) -> ServiceAccount | None:
        """Find a service account by email or numeric unique id."""
        return next((s for s in self.service_accounts if key in (s.email, s.unique_id)), None)

    def members_with_role(self, resource: str, role: str) -> set[str]:
        return {m for b in self.iam_bindings if b.resource == resource and b.role == role for m in b.members}

    def evolve(self, **changes: Any) -> Topology:
        """A deep copy with some top-level fields replaced (tests use it to break one thing)."""
        clone = copy.deepcopy(self)
        for name, value in changes.items():
            if not hasattr(clone, name):
                raise TopologyError(f"Topology has no field {name!r}")
            setattr(clone, name, value)
        return clone


def load(path: str | Path = DEFAULT_TOPOLOGY) -> Topology:
    """Read and check a topology file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TopologyError(f"cannot read topology {path}: {exc}") from exc
    try:
        return _build(raw, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise TopologyError(f"topology {path}: {exc!r}") from exc


def _build(raw: dict[str, Any], path: Path) -> Topology:
    def fics(app: dict[str, Any]) -> tuple[FederatedIdentityCredential, ...]:
        return tuple(
            FederatedIdentityCredential(
                display_name=f["display_name"],
                issuer=f["issuer"],
                subject=f["subject"],
                audiences=tuple(f["audiences"]),
            )
            for f in app.get("federated_identity_credentials", [])
        )

    topology = Topology(
        tenants=[Tenant(**t) for t in raw["tenants"]],
        applications=[
            Application(
                tenant_id=a["tenant_id"],
                display_name=a["display_name"],
                client_id=a["client_id"],
                service_principal_object_id=a["service_principal_object_id"],
                identifier_uris=tuple(a.get("identifier_uris", [])),
                requested_access_token_version=int(a.get("requested_access_token_version", 1)),
                password=bool(a.get("password", False)),
                federated_identity_credentials=fics(a),
            )
            for a in raw.get("applications", [])
        ],
        managed_identities=[_managed_identity(m) for m in raw.get("managed_identities", [])],
        role_assignments=[RoleAssignment(**r) for r in raw.get("role_assignments", [])],
        storage_containers=[
            StorageContainer(
                storage_account_name=c["storage_account_name"],
                name=c["name"],
                blobs=tuple(Blob(**b) for b in c.get("blobs", [])),
            )
            for c in raw.get("storage_containers", [])
        ],
        projects=[Project(project_id=p["project_id"], number=str(p["number"])) for p in raw["projects"]],
        workload_identity_pools=list(raw.get("workload_identity_pools", [])),
        workload_identity_pool_providers=[
            WorkloadIdentityPoolProvider(
                project_id=p["project_id"],
                workload_identity_pool_id=p["workload_identity_pool_id"],
                workload_identity_pool_provider_id=p["workload_identity_pool_provider_id"],
                issuer_uri=p["issuer_uri"],
                allowed_audiences=tuple(p.get("allowed_audiences", [])),
                attribute_mapping=dict(p["attribute_mapping"]),
                attribute_condition=p.get("attribute_condition", ""),
                disabled=bool(p.get("disabled", False)),
            )
            for p in raw.get("workload_identity_pool_providers", [])
        ],
        service_accounts=[
            ServiceAccount(
                project_id=s["project_id"], account_id=s["account_id"], unique_id=str(s["unique_id"])
            )
            for s in raw.get("service_accounts", [])
        ],
        iam_bindings=[
            IamBinding(resource=b["resource"], role=b["role"], members=tuple(b["members"]))
            for b in raw.get("iam_bindings", [])
        ],
        bigquery_datasets=[
            Dataset(
                project_id=d["project_id"],
                dataset_id=d["dataset_id"],
                tables=tuple(_table(t, path.parent) for t in d.get("tables", [])),
            )
            for d in raw.get("bigquery_datasets", [])
        ],
        runtime=Runtime(**raw["runtime"]),
        source=path,
    )
    _check(topology)
    return topology


def _managed_identity(raw: dict[str, Any]) -> ManagedIdentity:
    """A managed identity; its federated credentials use azurerm_federated_identity_credential's names
    (``name``, ``issuer``, ``subject``, ``audience``)."""
    values = {k: v for k, v in raw.items() if k != "federated_identity_credentials"}
    fics = tuple(
        FederatedIdentityCredential(
            display_name=f["name"], issuer=f["issuer"], subject=f["subject"], audiences=tuple(f["audience"])
        )
        for f in raw.get("federated_identity_credentials", [])
    )
    if fics and values.get("type") != "UserAssigned":
        raise ValueError(
            f"managed identity {values.get('name')}: only a UserAssigned identity takes federated credentials"
        )
    return ManagedIdentity(**values, federated_identity_credentials=fics)


def _table(raw: dict[str, Any], base: Path) -> Table:
    schema = tuple((c["name"], c["type"].upper()) for c in raw["schema"])
    if "csv" in raw:
        with (base / raw["csv"]).open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            if tuple(header) != tuple(name for name, _ in schema):
                raise ValueError(f"CSV header {header} does not match the schema of table {raw['table_id']}")
            rows = tuple(tuple(_cast(v, t) for v, (_, t) in zip(row, schema, strict=True)) for row in reader)
    else:
        rows = tuple(tuple(r) for r in raw.get("rows", []))
    return Table(table_id=raw["table_id"], schema=schema, rows=rows)


def _cast(value: str, bq_type: str) -> Any:
    if value == "":
        return None
    if bq_type in ("INTEGER", "INT64"):
        return int(value)
    if bq_type in ("FLOAT", "FLOAT64", "NUMERIC"):
        return float(value)
    if bq_type in ("BOOLEAN", "BOOL"):
        return value.lower() == "true"
    return value


def _check(topology: Topology) -> None:
    """Cross-references must resolve, so a typo in a topology fails at load, not mid-test."""
    tenant_ids = {t.tenant_id for t in topology.tenants}
    for app in topology.applications:
        if app.tenant_id not in tenant_ids:
            raise ValueError(f"application {app.display_name} names unknown tenant {app.tenant_id}")
        if app.requested_access_token_version not in (1, 2):
            raise ValueError(f"application {app.display_name}: requested_access_token_version must be 1 or 2")
    project_ids = {p.project_id for p in topology.projects}
    for provider in topology.workload_identity_pool_providers:
        if provider.project_id not in project_ids:
            raise ValueError(f"provider {provider.workload_identity_pool_provider_id} names unknown project")
        if "google.subject" not in provider.attribute_mapping:
            raise ValueError(
                f"provider {provider.workload_identity_pool_provider_id} must map google.subject"
            )
    if topology.service_account(topology.runtime.metadata_service_account) is None:
        raise ValueError("runtime.metadata_service_account is not one of service_accounts")
    if topology.managed_identity(name=topology.runtime.app_service_managed_identity) is None:
        raise ValueError("runtime.app_service_managed_identity is not one of managed_identities")
