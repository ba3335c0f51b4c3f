"""Google -> Azure: :class:`GoogleToAzureSettings`, for a Google workload getting Azure tokens."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import SettingsError
from shared.settings.common import (
    AUTHORITY_HOSTS,
    DEFAULT_UNIVERSE,
    GUID,
    ID_TOKEN_SOURCES,
    SERVICE_ACCOUNT,
    TOKEN_EXCHANGE_AUDIENCES,
    IdTokenSource,
    RetrySettings,
    ca_bundle_problems,
    common_problems,
    iam_base,
    normalize_authority,
    read_variables,
    read_with,
    tenant_problems,
    token_exchange_audience,
)
from shared.settings.external_account import credential_file_problem, file_type


@dataclass(frozen=True)
class GoogleToAzureSettings:
    """A Google workload getting Azure tokens (see :mod:`shared.settings` for the variables)."""

    tenant_id: str
    client_id: str
    id_token_source: IdTokenSource = "metadata"
    id_token_audience: str = ""  # "": the federated-credential audience of authority_host's cloud
    key_file: str | None = None
    impersonate_service_account: str | None = None
    authority_host: str = AUTHORITY_HOSTS["azurepubliccloud"]
    universe_domain: str = DEFAULT_UNIVERSE
    iam_credentials_url: str | None = None
    retry: RetrySettings = RetrySettings()

    def __post_init__(self) -> None:
        if not self.id_token_audience:  # the default follows the cloud
            object.__setattr__(self, "id_token_audience", token_exchange_audience(self.authority_host))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GoogleToAzureSettings:
        """Read the environment (``os.environ`` by default); ``overrides`` win. Validated."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "tenant_id": env.get("AZURE_TENANT_ID", ""),
            "client_id": env.get("AZURE_CLIENT_ID", ""),
        }
        read_variables(values, env, _GOOGLE_TO_AZURE_ENV)
        source = env.get("GOOGLE_ID_TOKEN_SOURCE")
        if not source:
            key_file = values.get("key_file")
            if values.get("impersonate_service_account"):
                source = "impersonation"
            elif key_file and file_type(key_file) == "service_account":
                source = "key_file"
            else:
                source = "metadata"
        values["id_token_source"] = source
        values["retry"] = RetrySettings.from_env(env)
        values.update(overrides)
        return read_with(ca_bundle_problems(env), lambda: cls(**values).validated())

    @property
    def generate_id_token_url(self) -> str:
        """IAM Credentials ``generateIdToken`` for the impersonated account."""
        base = iam_base(self.iam_credentials_url, self.universe_domain)
        return f"{base}/v1/projects/-/serviceAccounts/{self.impersonate_service_account}:generateIdToken"

    def problems(self) -> list[tuple[str, str]]:
        """Every problem with these settings, as (variable, what a valid value looks like)."""
        problems = tenant_problems(self.tenant_id, required=True)
        if not self.client_id:
            problems.append(
                ("AZURE_CLIENT_ID", "required: the app registration's Application (client) ID, a GUID")
            )
        elif not GUID.match(self.client_id):
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
        cloud_audience = token_exchange_audience(self.authority_host)
        if not self.id_token_audience or any(c.isspace() for c in self.id_token_audience):
            problems.append(
                (
                    "GOOGLE_ID_TOKEN_AUDIENCE",
                    f"the federated credential's audience, normally {cloud_audience}",
                )
            )
        elif self.id_token_audience.rstrip("/").endswith("/.default"):
            problems.append(
                (
                    "GOOGLE_ID_TOKEN_AUDIENCE",
                    f"an audience, not a scope: drop '/.default' (normally {cloud_audience}); got "
                    f"{self.id_token_audience!r}",
                )
            )
        elif (
            self.id_token_audience in TOKEN_EXCHANGE_AUDIENCES.values()
            and self.id_token_audience != cloud_audience
            and normalize_authority(self.authority_host).rstrip("/") in TOKEN_EXCHANGE_AUDIENCES
        ):
            problems.append(
                (
                    "GOOGLE_ID_TOKEN_AUDIENCE",
                    f"{self.id_token_audience} is another cloud's token-exchange audience; federated credentials in "
                    f"AZURE_AUTHORITY_HOST's cloud ({normalize_authority(self.authority_host)}) use {cloud_audience}",
                )
            )
        file_problem = credential_file_problem(self.key_file) if self.key_file else None
        if file_problem and (
            self.id_token_source == "key_file" or (self.key_file or "").lstrip().startswith("{")
        ):
            problems.append(
                (
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    f"for key_file: the path of a service-account JSON key file; {file_problem}",
                )
            )
        elif self.id_token_source == "key_file":
            kind = file_type(self.key_file) if self.key_file else None
            if kind != "service_account":
                problems.append(
                    (
                        "GOOGLE_APPLICATION_CREDENTIALS",
                        "for key_file: the path of a service-account JSON key file"
                        + (f"; {self.key_file!r} is {kind}" if self.key_file else ""),
                    )
                )
        if self.id_token_source == "impersonation" and not SERVICE_ACCOUNT.match(
            self.impersonate_service_account or ""
        ):
            problems.append(
                (
                    "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
                    "for impersonation: the service account e-mail to act as",
                )
            )
        problems += common_problems(self.authority_host, self.universe_domain, None, self.iam_credentials_url)
        return problems

    def validated(self) -> GoogleToAzureSettings:
        """These settings, normalized, or :class:`SettingsError` listing every problem."""
        problems = self.problems()
        if problems:
            raise SettingsError(problems)
        return dataclasses.replace(self, authority_host=normalize_authority(self.authority_host))


_GOOGLE_TO_AZURE_ENV = {
    "id_token_audience": "GOOGLE_ID_TOKEN_AUDIENCE",
    "key_file": "GOOGLE_APPLICATION_CREDENTIALS",
    "impersonate_service_account": "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
    "authority_host": "AZURE_AUTHORITY_HOST",
    "universe_domain": "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
    "iam_credentials_url": "GOOGLE_IAM_CREDENTIALS_URL",
}
