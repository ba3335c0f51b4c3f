"""What both directions' settings share: retry settings, clouds and authorities, common checks.

The variables each direction reads are listed in :mod:`shared.settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

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

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
SERVICE_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9-]{4,61}@[a-z0-9.-]+\.[a-z]+$")


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


# RetrySettings field <- variable, type and bounds.
_RETRY_ENV: tuple[tuple[str, str, type, float, float], ...] = (
    ("attempts", "FEDERATION_RETRY_ATTEMPTS", int, 1, 20),
    ("deadline_s", "FEDERATION_RETRY_DEADLINE_S", float, 0.5, 600),
    ("attempt_timeout_s", "FEDERATION_ATTEMPT_TIMEOUT_S", float, 0.5, 120),
)


def put(values: dict[str, Any], key: str, value: str | None) -> None:
    if value:
        values[key] = value


def read_variables(values: dict[str, Any], env: Mapping[str, str], names: Mapping[str, str]) -> None:
    """Set each setting whose variable is set (and not empty)."""
    for key, variable in names.items():
        put(values, key, env.get(variable))


def tenant_problems(tenant: str | None, *, required: bool) -> list[tuple[str, str]]:
    if not tenant:
        return [("AZURE_TENANT_ID", "required: the directory (tenant) ID, a GUID")] if required else []
    if GUID.match(tenant) or _TENANT_DOMAIN.match(tenant):
        return []
    return [("AZURE_TENANT_ID", f"the directory (tenant) ID GUID or a verified domain; got {tenant!r}")]


def common_problems(
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


def iam_base(override: str | None, universe: str) -> str:
    return (override or f"https://iamcredentials.{universe}").rstrip("/")
