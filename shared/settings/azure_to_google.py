"""Azure -> Google: :class:`AzureToGoogleSettings`, for an Azure workload getting Google credentials."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared.errors import SettingsError
from shared.settings.common import (
    AUTHORITY_HOSTS,
    AZURE_SOURCES,
    CLOUD_PLATFORM_SCOPE,
    DEFAULT_UNIVERSE,
    GUID,
    SERVICE_ACCOUNT,
    AzureSource,
    RetrySettings,
    ca_bundle_problems,
    common_problems,
    iam_base,
    normalize_authority,
    put,
    read_variables,
    tenant_problems,
)
from shared.settings.external_account import (
    GCLOUD_DEFAULT_RESOURCE,
    credential_file_problem,
    file_type,
    read_external_account,
)

_PROVIDER = re.compile(
    r"^(?://iam\.[a-z0-9.-]+/)?projects/(?P<project>[^/]+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/providers/(?P<provider>[^/]+)$"
)

_POOL_ID = re.compile(r"^[a-z0-9-]{4,32}$")


@dataclass(frozen=True)
class AzureToGoogleSettings:
    """An Azure workload getting Google credentials (see :mod:`shared.settings` for the variables)."""

    provider: str  # //iam.googleapis.com/projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<ID>
    azure_audience: str
    service_account: str | None = None
    azure_source: AzureSource = "managed_identity"
    azure_client_id: str | None = None
    azure_tenant_id: str | None = None
    azure_client_secret: str | None = field(default=None, repr=False)
    azure_federated_token_file: str | None = None
    authority_host: str = AUTHORITY_HOSTS["azurepubliccloud"]
    universe_domain: str = DEFAULT_UNIVERSE
    sts_token_url: str | None = None
    iam_credentials_url: str | None = None
    scopes: tuple[str, ...] = (CLOUD_PLATFORM_SCOPE,)
    quota_project_id: str | None = None
    service_account_token_lifetime_s: int = 3600
    retry: RetrySettings = RetrySettings()
    # Where azure_audience came from, as fixes name it: the variable, or a credential file's resource=.
    audience_setting: str = "AZURE_TOKEN_AUDIENCE"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AzureToGoogleSettings:
        """Read the environment (``os.environ`` by default); ``overrides`` win. Validated."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        credential_file = env.get("GOOGLE_APPLICATION_CREDENTIALS")
        file_problem = credential_file_problem(credential_file) if credential_file else None
        if file_problem and not env.get("GCP_WORKLOAD_IDENTITY_PROVIDER"):
            # Without a provider, the file was meant to carry the settings: say what is wrong with it first.
            raise SettingsError([("GOOGLE_APPLICATION_CREDENTIALS", file_problem)])
        if (
            not env.get("GCP_WORKLOAD_IDENTITY_PROVIDER")
            and credential_file
            and file_type(credential_file) == "external_account"
        ):
            values.update(read_external_account(credential_file))
        provider = env.get("GCP_WORKLOAD_IDENTITY_PROVIDER")
        if provider and "/" not in provider:  # the short ID, with its project number and pool
            provider = (
                f"projects/{env.get('GCP_PROJECT_NUMBER', '')}/locations/global/workloadIdentityPools/"
                f"{env.get('GCP_WORKLOAD_IDENTITY_POOL', '')}/providers/{provider}"
            )
        put(values, "provider", provider)
        read_variables(values, env, _AZURE_TO_GOOGLE_ENV)
        if env.get("AZURE_TOKEN_AUDIENCE"):
            values["audience_setting"] = "AZURE_TOKEN_AUDIENCE"
        # An external_account file names its source (managed identity); only an explicit variable overrides it.
        values["retry"] = RetrySettings.from_env(env)
        put(
            values,
            "azure_source",
            env.get("AZURE_CREDENTIAL_SOURCE") or values.get("azure_source") or _infer_azure_source(env),
        )
        values.update(overrides)
        problems = ca_bundle_problems(env)
        for required in ("provider", "azure_audience"):
            if not values.get(required):
                problems.append((_ENV_NAMES[required], "required: " + _MISSING[required]))
        if problems:
            values.setdefault("provider", "")
            values.setdefault("azure_audience", "")
            problems += [p for p in cls(**values).problems() if p[0] not in {n for n, _ in problems}]
            raise SettingsError(problems)
        return cls(**values).validated()

    @classmethod
    def from_external_account_file(cls, path: str, **overrides: Any) -> AzureToGoogleSettings:
        """Settings from a gcloud ``create-cred-config --azure`` file; works on Functions/App Service too.

        The file's IMDS URL is only read for its ``resource`` (the token audience) and
        ``client_id``: the Azure token comes from azure-identity's managed identity, which
        speaks the App Service protocol as well as IMDS.
        """
        return cls(
            **{"provider": "", "azure_audience": "", **read_external_account(path), **overrides}
        ).validated()

    @property
    def sts_url(self) -> str:
        """The STS token endpoint (``GOOGLE_STS_TOKEN_URL`` or the universe's)."""
        return self.sts_token_url or f"https://sts.{self.universe_domain}/v1/token"

    @property
    def impersonation_url(self) -> str | None:
        """The ``generateAccessToken`` URL of the service account, or ``None`` for direct access."""
        if not self.service_account:
            return None
        return f"{iam_base(self.iam_credentials_url, self.universe_domain)}/v1/projects/-/serviceAccounts/{self.service_account}:generateAccessToken"

    @property
    def pool_principal_prefix(self) -> str:
        """``principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P``."""
        match = _PROVIDER.match(self.provider)
        project, pool = (match["project"], match["pool"]) if match else ("?", "?")
        return (
            f"principal://iam.googleapis.com/projects/{project}/locations/global/workloadIdentityPools/{pool}"
        )

    def problems(self) -> list[tuple[str, str]]:
        """Every problem with these settings, as (variable, what a valid value looks like)."""
        problems: list[tuple[str, str]] = []
        match = _PROVIDER.match(self.provider)
        if not match:
            problems.append(
                ("GCP_WORKLOAD_IDENTITY_PROVIDER", _MISSING["provider"] + f"; got {self.provider!r}")
            )
        else:
            if not match["project"].isdigit():
                problems.append(
                    (
                        "GCP_WORKLOAD_IDENTITY_PROVIDER",
                        f"{match['project']!r} looks like a project ID; use the project NUMBER "
                        f"(gcloud projects describe {match['project']} --format='value(projectNumber)')",
                    )
                )
            if not _POOL_ID.match(match["pool"]) or not _POOL_ID.match(match["provider"]):
                problems.append(
                    (
                        "GCP_WORKLOAD_IDENTITY_PROVIDER",
                        "pool and provider IDs are 4-32 characters of [a-z0-9-]",
                    )
                )
        if not _is_audience(self.azure_audience):
            problems.append(
                ("AZURE_TOKEN_AUDIENCE", _MISSING["azure_audience"] + f"; got {self.azure_audience!r}")
            )
        elif self.azure_audience.startswith(GCLOUD_DEFAULT_RESOURCE):
            setting = (
                "GOOGLE_APPLICATION_CREDENTIALS" if self.audience_setting != "AZURE_TOKEN_AUDIENCE" else
                "AZURE_TOKEN_AUDIENCE"
            )  # fmt: skip
            problems.append(
                (
                    setting,
                    f"{self.audience_setting} is {self.azure_audience!r}: gcloud's default when --app-id-uri is "
                    "not given, the provider's own name, not an Entra application ID URI; use the audience app's "
                    "identifier URI (api://<client-id>), one of the provider's allowed_audiences",
                )
            )
        if self.service_account and not SERVICE_ACCOUNT.match(self.service_account):
            problems.append(
                (
                    "GCP_SERVICE_ACCOUNT",
                    f"a service account e-mail (NAME@PROJECT.iam.gserviceaccount.com); got {self.service_account!r}",
                )
            )
        if self.azure_source not in AZURE_SOURCES:
            problems.append(
                ("AZURE_CREDENTIAL_SOURCE", f"one of {', '.join(AZURE_SOURCES)}; got {self.azure_source!r}")
            )
        if self.azure_client_id and not GUID.match(self.azure_client_id):
            problems.append(("AZURE_CLIENT_ID", f"a client ID GUID; got {self.azure_client_id!r}"))
        problems += tenant_problems(
            self.azure_tenant_id, required=self.azure_source in ("workload_identity", "client_secret")
        )
        if self.azure_source in ("workload_identity", "client_secret") and not self.azure_client_id:
            problems.append(
                ("AZURE_CLIENT_ID", f"required for {self.azure_source}: the app registration's client ID")
            )
        if self.azure_source == "client_secret" and not self.azure_client_secret:
            problems.append(("AZURE_CLIENT_SECRET", "required for client_secret: the secret's value"))
        if self.azure_source == "workload_identity" and not (
            self.azure_federated_token_file and os.path.isfile(self.azure_federated_token_file)
        ):
            problems.append(
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "required for workload_identity: the projected token file's path",
                )
            )
        problems += common_problems(
            self.authority_host, self.universe_domain, self.sts_token_url, self.iam_credentials_url
        )
        if not 600 <= self.service_account_token_lifetime_s <= 43200:
            problems.append(("service_account_token_lifetime_s", "600 to 43200 seconds"))
        return problems

    def validated(self) -> AzureToGoogleSettings:
        """These settings, normalized, or :class:`SettingsError` listing every problem."""
        problems = self.problems()
        if problems:
            raise SettingsError(problems)
        provider = self.provider
        if provider.startswith("projects/"):
            provider = f"//iam.googleapis.com/{provider}"
        return dataclasses.replace(
            self, provider=provider, authority_host=normalize_authority(self.authority_host)
        )


_ENV_NAMES = {"provider": "GCP_WORKLOAD_IDENTITY_PROVIDER", "azure_audience": "AZURE_TOKEN_AUDIENCE"}

_MISSING = {
    "provider": "the workload identity provider as projects/<PROJECT_NUMBER>/locations/global/"
    "workloadIdentityPools/<POOL_ID>/providers/<PROVIDER_ID> (or the provider ID with GCP_PROJECT_NUMBER "
    "and GCP_WORKLOAD_IDENTITY_POOL)",
    "azure_audience": "the Entra application ID URI the provider allows, e.g. api://<client-id> (v1 tokens) "
    "or the client ID GUID (v2 tokens)",
}

# Setting <- environment variable, for the variables read as they are.
_AZURE_TO_GOOGLE_ENV = {
    "azure_audience": "AZURE_TOKEN_AUDIENCE",
    "service_account": "GCP_SERVICE_ACCOUNT",
    "azure_client_id": "AZURE_CLIENT_ID",
    "azure_tenant_id": "AZURE_TENANT_ID",
    "azure_client_secret": "AZURE_CLIENT_SECRET",  # the variable's name  # pragma: allowlist secret
    "azure_federated_token_file": "AZURE_FEDERATED_TOKEN_FILE",
    "authority_host": "AZURE_AUTHORITY_HOST",
    "universe_domain": "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
    "sts_token_url": "GOOGLE_STS_TOKEN_URL",
    "iam_credentials_url": "GOOGLE_IAM_CREDENTIALS_URL",
    "quota_project_id": "GOOGLE_CLOUD_QUOTA_PROJECT",
}


def _infer_azure_source(env: Mapping[str, str]) -> AzureSource:
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload_identity"
    if env.get("AZURE_CLIENT_SECRET"):
        return "client_secret"
    if env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT"):
        return "managed_identity"
    return "default"


def _is_audience(value: str) -> bool:
    if GUID.match(value or ""):
        return True
    parts = urlsplit(value or "")
    return parts.scheme in ("api", "https") and bool(parts.netloc) and not any(c.isspace() for c in value)
