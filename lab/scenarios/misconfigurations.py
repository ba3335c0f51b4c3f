"""The real-world misconfigurations, reproducible in the lab: one catalogue for tests, docs and doctor.

Each :class:`Misconfiguration` breaks one thing — a piece of the topology (what Terraform or a
portal click sets) or one of a function's settings — and says what a caller of the function
then gets: the HTTP status, the hop that refused, the upstream code, and the words the error
must contain (the setting or binding to change). ``tests/test_misconfig_matrix.py`` proves
each one through the real functions; ``docs/TROUBLESHOOTING.md`` is rendered from this list
(``python -m tools.troubleshooting``) and a test keeps the two equal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from lab.core.runtime import Lab
from lab.core.topology import IamBinding, RoleAssignment, WorkloadIdentityPoolProvider
from lab.hosting.functions import RunningLab, cloud_function_settings

CLOUD_FUNCTION = "cloud_function"
FUNCTION_APP = "function_app"
UNKNOWN_GUID = "0f0f0f0f-0000-4000-8000-000000000000"
Settings = dict[str, str | None]  # None removes the setting


@dataclass(frozen=True)
class Misconfiguration:
    """One mistake, how to make it in the lab, and the error a caller gets."""

    key: str
    function: str  # CLOUD_FUNCTION or FUNCTION_APP
    mistake: str  # what was done wrong, as a user would describe it
    change: str  # what to change (the setting or binding), for the docs
    status: int
    hop: str
    upstream_code: str  # "" for settings errors caught before any call
    names: tuple[str, ...]  # the error's message or fix must contain each
    break_topology: Callable[[Lab], object] = lambda lab: None
    settings: Callable[[RunningLab], Settings] = lambda lab: {}
    params: tuple[tuple[str, str], ...] = ()


# -- topology edits (each as Terraform or a portal click would make it) -----------------------


def replace_provider(lab: Lab, **changes: object) -> None:
    providers: list[WorkloadIdentityPoolProvider] = [
        dataclasses.replace(p, **changes)  # type: ignore[arg-type]
        for p in lab.topology_now().workload_identity_pool_providers
    ]
    lab.break_topology(workload_identity_pool_providers=providers)


def drop_binding(lab: Lab, role: str, resource_prefix: str = "") -> None:
    bindings: list[IamBinding] = [
        b
        for b in lab.topology_now().iam_bindings
        if not (b.role == role and b.resource.startswith(resource_prefix))
    ]
    lab.break_topology(iam_bindings=bindings)


def _blob_reader(lab: RunningLab) -> str:
    return cloud_function_settings(lab)["AZURE_CLIENT_ID"]


def _fic_subject_is_email(lab: Lab) -> None:
    account = lab.topology.service_account(lab.topology.runtime.metadata_service_account)
    assert account is not None
    lab.edit_federated_credential(_blob_reader(lab), subject=account.email)


def _role_on_the_whole_account(lab: Lab) -> None:
    assignment = lab.topology_now().role_assignments[0]
    account_scope = assignment.scope.split("/blobServices/")[0]
    lab.break_topology(role_assignments=[dataclasses.replace(assignment, scope=account_scope)])


def _no_storage_role(lab: Lab) -> None:
    lab.break_topology(role_assignments=list[RoleAssignment]())


def _provider_id(
    lab: RunningLab, *, project: str | None = None, pool: str | None = None, provider: str | None = None
) -> str:
    name = lab.sts_audience().removeprefix("//iam.googleapis.com/")
    parts = name.split("/")  # projects/N/locations/global/workloadIdentityPools/P/providers/ID
    parts[1] = project or parts[1]
    parts[5] = pool or parts[5]
    parts[7] = provider or parts[7]
    return "/".join(parts)


MISCONFIGURATIONS: tuple[Misconfiguration, ...] = (
    # -- Google -> Azure (the Cloud Function) ----------------------------------------------------
    Misconfiguration(
        "fic-subject-email",
        CLOUD_FUNCTION,
        "The federated credential's subject is the service account's e-mail",
        "Set the federated identity credential's subject to the service account's numeric unique ID "
        "(`gcloud iam service-accounts describe … --format='value(uniqueId)'`).",
        403,
        "entra.token",
        "AADSTS70021",
        ("unique ID", "sub="),
        break_topology=_fic_subject_is_email,
    ),
    Misconfiguration(
        "fic-issuer-slash",
        CLOUD_FUNCTION,
        "The federated credential's issuer is `https://accounts.google.com/` (trailing slash)",
        "Set the issuer to exactly `https://accounts.google.com`.",
        403,
        "entra.token",
        "AADSTS700211",
        ("issuer",),
        break_topology=lambda lab: lab.edit_federated_credential(
            _blob_reader(lab), issuer="https://accounts.google.com/"
        ),
    ),
    Misconfiguration(
        "id-token-audience",
        CLOUD_FUNCTION,
        "The ID token's audience is not one the federated credential accepts",
        "Set `GOOGLE_ID_TOKEN_AUDIENCE` to the credential's audience (normally `api://AzureADTokenExchange`).",
        403,
        "entra.token",
        "AADSTS700212",
        ("GOOGLE_ID_TOKEN_AUDIENCE",),
        settings=lambda lab: {"GOOGLE_ID_TOKEN_AUDIENCE": "api://not-the-credentials-audience"},
    ),
    Misconfiguration(
        "unknown-tenant",
        CLOUD_FUNCTION,
        "`AZURE_TENANT_ID` names a tenant that does not exist",
        "Set `AZURE_TENANT_ID` to the directory (tenant) ID of the app registration.",
        403,
        "entra.token",
        "AADSTS90002",
        ("AZURE_TENANT_ID",),
        settings=lambda lab: {"AZURE_TENANT_ID": UNKNOWN_GUID},
    ),
    Misconfiguration(
        "unknown-client-id",
        CLOUD_FUNCTION,
        "`AZURE_CLIENT_ID` is not an app registration in the tenant",
        "Set `AZURE_CLIENT_ID` to the Application (client) ID of the app with the federated credential.",
        403,
        "entra.token",
        "AADSTS700016",
        ("AZURE_CLIENT_ID",),
        settings=lambda lab: {"AZURE_CLIENT_ID": UNKNOWN_GUID},
    ),
    Misconfiguration(
        "no-storage-role",
        CLOUD_FUNCTION,
        "The app's service principal has no Storage Blob Data Reader role",
        "Assign `Storage Blob Data Reader` to the app's service principal on the container or account.",
        403,
        "azure.data",
        "AuthorizationPermissionMismatch",
        ("Storage Blob Data Reader",),
        break_topology=_no_storage_role,
    ),
    Misconfiguration(
        "unknown-container",
        CLOUD_FUNCTION,
        "`AZURE_STORAGE_CONTAINER` names a container that does not exist",
        "Set `AZURE_STORAGE_CONTAINER` (or the `container` parameter) to an existing container.",
        404,
        "azure.data",
        "ContainerNotFound",
        ("AZURE_STORAGE_CONTAINER",),
        break_topology=_role_on_the_whole_account,
        settings=lambda lab: {"AZURE_STORAGE_CONTAINER": "no-such-container"},
    ),
    Misconfiguration(
        "cloud-function-settings-missing",
        CLOUD_FUNCTION,
        "The Cloud Function was deployed without `AZURE_CLIENT_ID` and with a non-https account URL",
        "Set every setting the error lists (`gcloud functions deploy … --set-env-vars`).",
        500,
        "settings",
        "",
        ("AZURE_CLIENT_ID", "AZURE_STORAGE_ACCOUNT_URL"),
        settings=lambda lab: {
            "AZURE_CLIENT_ID": None,
            "AZURE_STORAGE_ACCOUNT_URL": "http://devstoreaccount1",
        },
    ),
    # -- Azure -> Google (the Function App) -------------------------------------------------------
    Misconfiguration(
        "provider-project-id",
        FUNCTION_APP,
        "`GCP_WORKLOAD_IDENTITY_PROVIDER` uses the project ID where the number belongs",
        "Use the project number: `gcloud projects describe PROJECT_ID --format='value(projectNumber)'`.",
        500,
        "settings",
        "",
        ("GCP_WORKLOAD_IDENTITY_PROVIDER", "project NUMBER"),
        settings=lambda lab: {
            "GCP_WORKLOAD_IDENTITY_PROVIDER": _provider_id(lab, project="fedlab-analytics")
        },
    ),
    Misconfiguration(
        "wrong-pool",
        FUNCTION_APP,
        "`GCP_WORKLOAD_IDENTITY_PROVIDER` names a pool that does not exist (or was deleted)",
        "Name an existing, enabled pool and provider in `GCP_WORKLOAD_IDENTITY_PROVIDER`.",
        403,
        "gcp.sts",
        "invalid_target",
        ("GCP_WORKLOAD_IDENTITY_PROVIDER",),
        settings=lambda lab: {"GCP_WORKLOAD_IDENTITY_PROVIDER": _provider_id(lab, pool="no-such-pool")},
    ),
    Misconfiguration(
        "wrong-provider",
        FUNCTION_APP,
        "`GCP_WORKLOAD_IDENTITY_PROVIDER` names a provider that does not exist",
        "Name an existing, enabled provider in `GCP_WORKLOAD_IDENTITY_PROVIDER`.",
        403,
        "gcp.sts",
        "invalid_target",
        ("GCP_WORKLOAD_IDENTITY_PROVIDER",),
        settings=lambda lab: {
            "GCP_WORKLOAD_IDENTITY_PROVIDER": _provider_id(lab, provider="no-such-provider")
        },
    ),
    Misconfiguration(
        "issuer-version",
        FUNCTION_APP,
        "The provider's issuer is the v2 one, but the audience app issues v1 tokens",
        "Match the provider's `issuer_uri` to the token version: v1 `https://sts.windows.net/<tenant>/`, "
        "v2 `https://login.microsoftonline.com/<tenant>/v2.0` (`azure_token_version` in infra/).",
        403,
        "gcp.sts",
        "invalid_grant",
        ("issuer_uri", "v1"),
        break_topology=lambda lab: replace_provider(
            lab, issuer_uri=f"https://login.microsoftonline.com/{lab.topology.tenants[0].tenant_id}/v2.0"
        ),
    ),
    Misconfiguration(
        "audience-not-allowed",
        FUNCTION_APP,
        "The provider does not allow the audience the Function App asks Entra for",
        "Make `AZURE_TOKEN_AUDIENCE` one of the provider's `allowed_audiences` (the audience app's ID URI).",
        403,
        "gcp.sts",
        "invalid_grant",
        ("AZURE_TOKEN_AUDIENCE",),
        break_topology=lambda lab: replace_provider(lab, allowed_audiences=("api://some-other-app",)),
    ),
    Misconfiguration(
        "audience-app-missing",
        FUNCTION_APP,
        "`AZURE_TOKEN_AUDIENCE` is an ID URI no app registration in the tenant has",
        "Set `AZURE_TOKEN_AUDIENCE` to the audience app's identifier URI (`api://<client-id>`).",
        403,
        "azure.msi",
        "AADSTS500011",
        ("AZURE_TOKEN_AUDIENCE", "api://no-such-app"),
        settings=lambda lab: {"AZURE_TOKEN_AUDIENCE": "api://no-such-app"},
    ),
    Misconfiguration(
        "attribute-condition",
        FUNCTION_APP,
        "The provider's attribute condition does not admit the Function App's identity",
        "Add the identity's object ID (`oid`) to the provider's `attribute_condition`.",
        403,
        "gcp.sts",
        "unauthorized_client",
        ("attribute_condition",),
        break_topology=lambda lab: replace_provider(
            lab, attribute_condition=f"assertion.oid == '{UNKNOWN_GUID}'"
        ),
    ),
    Misconfiguration(
        "no-workload-identity-user",
        FUNCTION_APP,
        "The identity's `principal://` member lacks `roles/iam.workloadIdentityUser` on the service account",
        "Grant `roles/iam.workloadIdentityUser` on the service account to the exact `principal://…/subject/<oid>` "
        "member the error shows.",
        403,
        "gcp.iam",
        "PERMISSION_DENIED",
        ("roles/iam.workloadIdentityUser", "principal://"),
        break_topology=lambda lab: drop_binding(lab, "roles/iam.workloadIdentityUser"),
    ),
    Misconfiguration(
        "unknown-service-account",
        FUNCTION_APP,
        "`GCP_SERVICE_ACCOUNT` names a service account that does not exist",
        "Set `GCP_SERVICE_ACCOUNT` to an existing service account (or unset it for direct resource access).",
        403,
        "gcp.iam",
        "NOT_FOUND",
        ("GCP_SERVICE_ACCOUNT",),
        settings=lambda lab: {
            "GCP_SERVICE_ACCOUNT": "no-such-account@fedlab-analytics.iam.gserviceaccount.com"
        },
    ),
    Misconfiguration(
        "no-bigquery-job-user",
        FUNCTION_APP,
        "The service account has no BigQuery role on the project",
        "Grant `roles/bigquery.jobUser` on the job project (`BIGQUERY_PROJECT`) and `roles/bigquery.dataViewer` "
        "on the data.",
        403,
        "google.data",
        "accessDenied",
        ("roles/bigquery.jobUser",),
        break_topology=lambda lab: drop_binding(lab, "roles/bigquery.jobUser"),
    ),
    Misconfiguration(
        "function-app-settings-missing",
        FUNCTION_APP,
        "The Function App has no `BIGQUERY_PROJECT` and a bad `AZURE_TOKEN_AUDIENCE`",
        "Set every setting the error lists (Terraform writes them: `terraform apply`).",
        500,
        "settings",
        "",
        ("BIGQUERY_PROJECT", "AZURE_TOKEN_AUDIENCE"),
        settings=lambda lab: {
            "BIGQUERY_PROJECT": None,
            "GOOGLE_CLOUD_PROJECT": None,
            "AZURE_TOKEN_AUDIENCE": "not a uri",
        },
    ),
)
