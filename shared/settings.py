"""Settings for both directions: from the environment (named as each ecosystem names them) or code.

Validation happens up front and reports every problem at once, each naming its variable and
what a valid value looks like (:class:`shared.errors.SettingsError`).

Azure -> Google (:class:`AzureToGoogleSettings`)::

    GCP_WORKLOAD_IDENTITY_PROVIDER  projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<ID>
                                    (or just <ID> with GCP_PROJECT_NUMBER and GCP_WORKLOAD_IDENTITY_POOL)
    AZURE_TOKEN_AUDIENCE            the Entra app ID URI the provider allows, e.g. api://<client-id>
    GCP_SERVICE_ACCOUNT             optional: impersonate this account; unset = direct resource access
    AZURE_CREDENTIAL_SOURCE         managed_identity | workload_identity | client_secret | default
    AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST
    GOOGLE_APPLICATION_CREDENTIALS  a gcloud ``external_account`` file is accepted instead of the above

Google -> Azure (:class:`GoogleToAzureSettings`)::

    AZURE_TENANT_ID, AZURE_CLIENT_ID (the app registration with the federated credential), AZURE_AUTHORITY_HOST
    GOOGLE_ID_TOKEN_SOURCE          metadata | key_file | impersonation
    GOOGLE_ID_TOKEN_AUDIENCE        default api://AzureADTokenExchange
    GOOGLE_APPLICATION_CREDENTIALS  the key file (key_file); GOOGLE_IMPERSONATE_SERVICE_ACCOUNT (impersonation)

Both: GOOGLE_CLOUD_UNIVERSE_DOMAIN, GOOGLE_STS_TOKEN_URL, GOOGLE_IAM_CREDENTIALS_URL (sovereign
clouds and the offline lab).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from shared.errors import SettingsError

AzureSource = Literal["managed_identity", "workload_identity", "client_secret", "default"]
IdTokenSource = Literal["metadata", "key_file", "impersonation"]
AZURE_SOURCES: tuple[AzureSource, ...] = ("managed_identity", "workload_identity", "client_secret", "default")
ID_TOKEN_SOURCES: tuple[IdTokenSource, ...] = ("metadata", "key_file", "impersonation")

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_UNIVERSE = "googleapis.com"
# Microsoft's sovereign clouds by the names azure-identity and the Azure CLI use.
AUTHORITY_HOSTS = {
    "azurepubliccloud": "https://login.microsoftonline.com",
    "azureusgovernment": "https://login.microsoftonline.us",
    "azurechinacloud": "https://login.chinacloudapi.cn",
}

T = TypeVar("T")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PROVIDER = re.compile(
    r"^(?://iam\.[a-z0-9.-]+/)?projects/(?P<project>[^/]+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/providers/(?P<provider>[^/]+)$"
)
_POOL_ID = re.compile(r"^[a-z0-9-]{4,32}$")
_SERVICE_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9-]{4,61}@[a-z0-9.-]+\.[a-z]+$")
_IMPERSONATION_URL = re.compile(
    r"^(?P<base>https?://[^/]+)/v1/projects/-/serviceAccounts/(?P<account>[^:/]+):generateAccessToken$"
)


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try each hop: exponential backoff with full jitter, inside an overall deadline."""

    attempts: int = 5
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    deadline_s: float = 10.0  # for one whole refresh, across all hops and retries
    attempt_timeout_s: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetrySettings:
        """``FEDERATION_RETRY_ATTEMPTS``, ``FEDERATION_RETRY_DEADLINE_S``, ``FEDERATION_ATTEMPT_TIMEOUT_S``.

        Keep the deadline below the function's own timeout (Cloud Functions and Azure Functions
        HTTP triggers: 60 s and 230 s by default), so callers get a 503 rather than a dropped request.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems = []
        for key, variable, kind, low, high in _RETRY_ENV:
            raw = env.get(variable)
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                problems.append((variable, f"a number from {low} to {high}; got {raw!r}"))
            else:
                values[key] = value
        if problems:
            raise SettingsError(problems)
        return cls(**values)


@dataclass(frozen=True)
class AzureToGoogleSettings:
    """An Azure workload getting Google credentials (see the module docstring for the variables)."""

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AzureToGoogleSettings:
        """Read the environment (``os.environ`` by default); ``overrides`` win. Validated."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        credential_file = env.get("GOOGLE_APPLICATION_CREDENTIALS")
        if (
            not env.get("GCP_WORKLOAD_IDENTITY_PROVIDER")
            and credential_file
            and _file_type(credential_file) == "external_account"
        ):
            values.update(_from_external_account(credential_file))
        provider = env.get("GCP_WORKLOAD_IDENTITY_PROVIDER")
        if provider and "/" not in provider:  # the short ID, with its project number and pool
            provider = (
                f"projects/{env.get('GCP_PROJECT_NUMBER', '')}/locations/global/workloadIdentityPools/"
                f"{env.get('GCP_WORKLOAD_IDENTITY_POOL', '')}/providers/{provider}"
            )
        _put(values, "provider", provider)
        _read(values, env, _AZURE_TO_GOOGLE_ENV)
        # An external_account file names its source (managed identity); only an explicit variable overrides it.
        values["retry"] = RetrySettings.from_env(env)
        _put(
            values,
            "azure_source",
            env.get("AZURE_CREDENTIAL_SOURCE") or values.get("azure_source") or _infer_azure_source(env),
        )
        values.update(overrides)
        problems = []
        for required in ("provider", "azure_audience"):
            if not values.get(required):
                problems.append((_ENV_NAMES[required], _MISSING[required]))
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
            **{"provider": "", "azure_audience": "", **_from_external_account(path), **overrides}
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
        return f"{_iam_base(self.iam_credentials_url, self.universe_domain)}/v1/projects/-/serviceAccounts/{self.service_account}:generateAccessToken"

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
        if self.service_account and not _SERVICE_ACCOUNT.match(self.service_account):
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
        if self.azure_client_id and not _GUID.match(self.azure_client_id):
            problems.append(("AZURE_CLIENT_ID", f"a client ID GUID; got {self.azure_client_id!r}"))
        problems += _tenant_problems(
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
        problems += _common_problems(
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


@dataclass(frozen=True)
class GoogleToAzureSettings:
    """A Google workload getting Azure tokens (see the module docstring for the variables)."""

    tenant_id: str
    client_id: str
    id_token_source: IdTokenSource = "metadata"
    id_token_audience: str = TOKEN_EXCHANGE_AUDIENCE
    key_file: str | None = None
    impersonate_service_account: str | None = None
    authority_host: str = AUTHORITY_HOSTS["azurepubliccloud"]
    universe_domain: str = DEFAULT_UNIVERSE
    iam_credentials_url: str | None = None
    retry: RetrySettings = RetrySettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GoogleToAzureSettings:
        """Read the environment (``os.environ`` by default); ``overrides`` win. Validated."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "tenant_id": env.get("AZURE_TENANT_ID", ""),
            "client_id": env.get("AZURE_CLIENT_ID", ""),
        }
        _read(values, env, _GOOGLE_TO_AZURE_ENV)
        source = env.get("GOOGLE_ID_TOKEN_SOURCE")
        if not source:
            key_file = values.get("key_file")
            if values.get("impersonate_service_account"):
                source = "impersonation"
            elif key_file and _file_type(key_file) == "service_account":
                source = "key_file"
            else:
                source = "metadata"
        values["id_token_source"] = source
        values["retry"] = RetrySettings.from_env(env)
        values.update(overrides)
        return cls(**values).validated()

    @property
    def generate_id_token_url(self) -> str:
        """IAM Credentials ``generateIdToken`` for the impersonated account."""
        base = _iam_base(self.iam_credentials_url, self.universe_domain)
        return f"{base}/v1/projects/-/serviceAccounts/{self.impersonate_service_account}:generateIdToken"

    def problems(self) -> list[tuple[str, str]]:
        """Every problem with these settings, as (variable, what a valid value looks like)."""
        problems = _tenant_problems(self.tenant_id, required=True)
        if not _GUID.match(self.client_id or ""):
            problems.append(
                (
                    "AZURE_CLIENT_ID",
                    f"the app registration's Application (client) ID, a GUID; got {self.client_id!r}",
                )
            )
        if self.id_token_source not in ID_TOKEN_SOURCES:
            problems.append(
                (
                    "GOOGLE_ID_TOKEN_SOURCE",
                    f"one of {', '.join(ID_TOKEN_SOURCES)}; got {self.id_token_source!r}",
                )
            )
        if not self.id_token_audience or any(c.isspace() for c in self.id_token_audience):
            problems.append(
                (
                    "GOOGLE_ID_TOKEN_AUDIENCE",
                    f"the federated credential's audience, normally {TOKEN_EXCHANGE_AUDIENCE}",
                )
            )
        if self.id_token_source == "key_file":
            kind = _file_type(self.key_file) if self.key_file else None
            if kind != "service_account":
                problems.append(
                    (
                        "GOOGLE_APPLICATION_CREDENTIALS",
                        "for key_file: the path of a service-account JSON key file"
                        + (f"; {self.key_file!r} is {kind}" if self.key_file else ""),
                    )
                )
        if self.id_token_source == "impersonation" and not _SERVICE_ACCOUNT.match(
            self.impersonate_service_account or ""
        ):
            problems.append(
                (
                    "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
                    "for impersonation: the service account e-mail to act as",
                )
            )
        problems += _common_problems(
            self.authority_host, self.universe_domain, None, self.iam_credentials_url
        )
        return problems

    def validated(self) -> GoogleToAzureSettings:
        """These settings, normalized, or :class:`SettingsError` listing every problem."""
        problems = self.problems()
        if problems:
            raise SettingsError(problems)
        return dataclasses.replace(self, authority_host=normalize_authority(self.authority_host))


def https_url_problems(variable: str, value: str, *, expected: str = "an https URL") -> list[tuple[str, str]]:
    """``[(variable, what is wrong)]`` unless ``value`` is an https URL with a host."""
    parts = urlsplit(value or "")
    if parts.scheme == "https" and parts.hostname:
        return []
    return [(variable, f"{expected}; got {value!r}")]


def read_with(problems: list[tuple[str, str]], read: Callable[[], T]) -> T:
    """``read()`` (a ``from_env``), raising one :class:`SettingsError` with its problems and ``problems``.

    For a function's own settings next to the federation's: the operator sees every problem at once.
    """
    try:
        settings = read()
    except SettingsError as exc:
        problems = problems + exc.problems
    if problems:
        raise SettingsError(problems)
    return settings


def normalize_authority(value: str) -> str:
    """``AzureUSGovernment``, ``login.microsoftonline.us`` or a URL -> ``https://host[:port]``."""
    named = AUTHORITY_HOSTS.get(value.strip().lower())
    if named:
        return named
    return value if "://" in value else f"https://{value}".rstrip("/")


# -- helpers ----------------------------------------------------------------------------------

_ENV_NAMES = {"provider": "GCP_WORKLOAD_IDENTITY_PROVIDER", "azure_audience": "AZURE_TOKEN_AUDIENCE"}
_MISSING = {
    "provider": "the workload identity provider as projects/<PROJECT_NUMBER>/locations/global/"
    "workloadIdentityPools/<POOL_ID>/providers/<PROVIDER_ID> (or the provider ID with GCP_PROJECT_NUMBER "
    "and GCP_WORKLOAD_IDENTITY_POOL)",
    "azure_audience": "the Entra application ID URI the provider allows, e.g. api://<client-id> (v1 tokens) "
    "or the client ID GUID (v2 tokens)",
}


# RetrySettings field <- variable, type and bounds.
_RETRY_ENV: tuple[tuple[str, str, type, float, float], ...] = (
    ("attempts", "FEDERATION_RETRY_ATTEMPTS", int, 1, 20),
    ("deadline_s", "FEDERATION_RETRY_DEADLINE_S", float, 0.5, 600),
    ("attempt_timeout_s", "FEDERATION_ATTEMPT_TIMEOUT_S", float, 0.5, 120),
)

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
_GOOGLE_TO_AZURE_ENV = {
    "id_token_audience": "GOOGLE_ID_TOKEN_AUDIENCE",
    "key_file": "GOOGLE_APPLICATION_CREDENTIALS",
    "impersonate_service_account": "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
    "authority_host": "AZURE_AUTHORITY_HOST",
    "universe_domain": "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
    "iam_credentials_url": "GOOGLE_IAM_CREDENTIALS_URL",
}


def _put(values: dict[str, Any], key: str, value: str | None) -> None:
    if value:
        values[key] = value


def _read(values: dict[str, Any], env: Mapping[str, str], names: Mapping[str, str]) -> None:
    """Set each setting whose variable is set (and not empty)."""
    for key, variable in names.items():
        _put(values, key, env.get(variable))


def _infer_azure_source(env: Mapping[str, str]) -> AzureSource:
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload_identity"
    if env.get("AZURE_CLIENT_SECRET"):
        return "client_secret"
    if env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT"):
        return "managed_identity"
    return "default"


def _is_audience(value: str) -> bool:
    if _GUID.match(value or ""):
        return True
    parts = urlsplit(value or "")
    return parts.scheme in ("api", "https") and bool(parts.netloc) and not any(c.isspace() for c in value)


def _tenant_problems(tenant: str | None, *, required: bool) -> list[tuple[str, str]]:
    if not tenant:
        return [("AZURE_TENANT_ID", "required: the directory (tenant) ID, a GUID")] if required else []
    if _GUID.match(tenant) or _TENANT_DOMAIN.match(tenant):
        return []
    return [("AZURE_TENANT_ID", f"the directory (tenant) ID GUID or a verified domain; got {tenant!r}")]


def _common_problems(
    authority: str, universe: str, sts_url: str | None, iam_url: str | None
) -> list[tuple[str, str]]:
    problems = []
    normalized = normalize_authority(authority or "")
    host = urlsplit(normalized).hostname or ""
    # A dotless host is a misspelt cloud name ("AzureUSGoverment"), not an authority (localhost aside).
    if urlsplit(normalized).scheme != "https" or not (host == "localhost" or "." in host or ":" in host):
        problems.append(
            (
                "AZURE_AUTHORITY_HOST",
                f"an https authority host or a cloud name ({', '.join(AUTHORITY_HOSTS)}); got {authority!r}",
            )
        )
    if not universe or not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", universe):
        problems.append(
            ("GOOGLE_CLOUD_UNIVERSE_DOMAIN", f"a domain such as googleapis.com; got {universe!r}")
        )
    for name, url in (("GOOGLE_STS_TOKEN_URL", sts_url), ("GOOGLE_IAM_CREDENTIALS_URL", iam_url)):
        if url:
            problems += https_url_problems(name, url)
    return problems


def _iam_base(override: str | None, universe: str) -> str:
    return (override or f"https://iamcredentials.{universe}").rstrip("/")


def _file_type(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return "not a readable JSON file"
    return str(data.get("type")) if isinstance(data, dict) else "not a JSON object"


def _from_external_account(path: str) -> dict[str, Any]:
    """The settings a gcloud ``external_account`` file for Azure carries."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    values: dict[str, Any] = {"provider": data.get("audience", "")}
    source_url = (data.get("credential_source") or {}).get("url", "")
    query = parse_qs(urlsplit(source_url).query)
    if query.get("resource"):
        values["azure_audience"] = query["resource"][0]
    if query.get("client_id"):
        values["azure_client_id"] = query["client_id"][0]
    values["azure_source"] = "managed_identity"
    if data.get("token_url"):
        values["sts_token_url"] = data["token_url"]
    if data.get("universe_domain"):
        values["universe_domain"] = data["universe_domain"]
    impersonation = _IMPERSONATION_URL.match(data.get("service_account_impersonation_url") or "")
    if impersonation:
        values["service_account"] = impersonation["account"]
        values["iam_credentials_url"] = impersonation["base"]
    lifetime = (data.get("service_account_impersonation") or {}).get("token_lifetime_seconds")
    if lifetime:
        values["service_account_token_lifetime_s"] = int(lifetime)
    return values
