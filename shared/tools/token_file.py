"""Keep a fresh Google ID token in a file, for every tool that reads a federated token from one.

Tools that take the Entra client assertion from a file:

* every Azure SDK's workload identity credential: ``AZURE_FEDERATED_TOKEN_FILE`` with ``AZURE_CLIENT_ID``
  and ``AZURE_TENANT_ID`` (azure-identity ``WorkloadIdentityCredential``, which re-reads the file when it
  needs a new assertion; @azure/identity ``WorkloadIdentityCredential`` likewise);
* Terraform's azurerm and azuread providers: ``ARM_USE_OIDC=true`` + ``ARM_OIDC_TOKEN_FILE_PATH``;
* the Azure CLI: ``az login --service-principal -u <client-id> -t <tenant> --federated-token "$(cat FILE)"``.

A Google ID token lasts one hour. :class:`TokenFileKeeper` writes one (0600, atomically, see
:mod:`shared.tools.files`) and renews it ``renew_before_s`` before it expires (at most half-way
through its life; 900 s by default). Readers cache what they read: azure-identity's
``WorkloadIdentityCredential`` re-reads the file only when its last read is more than 600 s old
(``TokenFileMixin._get_service_account_token`` in azure-identity 1.27), so a token must still have
more than 600 s to live whenever it is in the file, or Entra may be handed an expired assertion
(AADSTS700024). The kubelet's rotation of projected tokens at 80 % of their life (12 min ahead for one
hour) leaves the same room. The keeper runs in the foreground (:meth:`TokenFileKeeper.run`) or once when due
(:meth:`TokenFileKeeper.refresh_if_due`, for cron or a sidecar's start). The ID token comes from the
same supplier, settings, retries and errors as :class:`shared.GoogleFederatedCredential`.

The audience follows the Azure cloud (Microsoft, "Configure an application to trust a managed identity":
``api://AzureADTokenExchange`` public, ``api://AzureADTokenExchangeUSGov`` Fairfax,
``api://AzureADTokenExchangeChina`` Mooncake — https://learn.microsoft.com/entra/workload-id/
workload-identity-federation-config-app-trust-managed-identity), unless ``GOOGLE_ID_TOKEN_AUDIENCE``
or ``--audience`` names one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.auth.transport.requests import Request

from shared.google_id_tokens import GoogleIdTokenSupplier, id_token_supplier
from shared.redaction import package_logger, redact, shown_claims
from shared.retry import RetryingRequest
from shared.settings import AUTHORITY_HOSTS, GoogleToAzureSettings
from shared.tools.files import locked, write_private

_log = package_logger("shared.tools.token_file")

# Entra's token-exchange audience per cloud, by the authority host of that cloud.
TOKEN_EXCHANGE_AUDIENCES = {
    AUTHORITY_HOSTS["azurepubliccloud"]: "api://AzureADTokenExchange",
    AUTHORITY_HOSTS["azureusgovernment"]: "api://AzureADTokenExchangeUSGov",
    AUTHORITY_HOSTS["azurechinacloud"]: "api://AzureADTokenExchangeChina",
}
DEFAULT_RENEW_BEFORE_S = 900.0  # > azure-identity's 600 s re-read interval of the token file
# An ID token needs no tenant or client; the tool reading the file brings its own (AZURE_TENANT_ID ...).
_UNUSED_GUID = "00000000-0000-0000-0000-000000000000"


def id_token_settings(environ: Mapping[str, str]) -> GoogleToAzureSettings:
    """The Google -> Azure settings for minting ID tokens; ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID`` optional.

    :raises shared.errors.SettingsError: listing every problem.
    """
    overrides = {
        name: _UNUSED_GUID
        for name, variable in (("tenant_id", "AZURE_TENANT_ID"), ("client_id", "AZURE_CLIENT_ID"))
        if not environ.get(variable)
    }
    return GoogleToAzureSettings.from_env(environ, **overrides)


def default_audience(settings: GoogleToAzureSettings, environ: Mapping[str, str]) -> str:
    """``GOOGLE_ID_TOKEN_AUDIENCE`` if set, else the token-exchange audience of the configured cloud."""
    if environ.get("GOOGLE_ID_TOKEN_AUDIENCE"):
        return settings.id_token_audience
    return TOKEN_EXCHANGE_AUDIENCES.get(settings.authority_host.rstrip("/"), settings.id_token_audience)


def fetch_id_token(
    settings: GoogleToAzureSettings, audience: str, supplier: GoogleIdTokenSupplier | None = None
) -> str:
    """A fresh Google ID token for ``audience``, through a retrying transport.

    :raises shared.errors.FederationError: no token from the configured source.
    """
    source = supplier or id_token_supplier(settings)
    return source.get_id_token(audience, RetryingRequest(Request(), settings.retry))


@dataclass(frozen=True)
class Written:
    """What a renewal wrote: claims worth showing (never the token) and when it expires (Unix s)."""

    claims: dict[str, object]
    expires_at: float


class TokenFileKeeper:
    """Keeps ``path`` holding a Google ID token for ``audience`` that is not about to expire. Thread-safe."""

    def __init__(
        self,
        path: str | Path,
        settings: GoogleToAzureSettings,
        audience: str,
        *,
        renew_before_s: float = DEFAULT_RENEW_BEFORE_S,
        retry_after_failure_s: float = 15.0,
        supplier: GoogleIdTokenSupplier | None = None,
    ) -> None:
        self.path = Path(path)
        self.settings = settings
        self.audience = audience
        self.renew_before_s = renew_before_s
        self.retry_after_failure_s = retry_after_failure_s
        self._supplier = supplier or id_token_supplier(settings)

    def expires_at(self) -> float | None:
        """The ``exp`` of the token in the file, or ``None`` if there is no readable token for the audience."""
        claims = self._file_claims()
        if claims.get("aud") != self.audience or not isinstance(claims.get("exp"), int | float):
            return None
        return float(claims["exp"])

    def _file_claims(self) -> dict[str, Any]:
        """The file's token's timing and audience claims (unverified; the token is not kept)."""
        from google.auth import jwt

        try:
            decoded = jwt.decode(self.path.read_text(encoding="utf-8").strip(), verify=False)
        except (OSError, ValueError):
            return {}
        return {name: decoded.get(name) for name in ("aud", "iat", "exp")}

    def renew_at(self, expires_at: float, issued_at: float) -> float:
        """When a token living from ``issued_at`` to ``expires_at`` is renewed (never later than half-way)."""
        life = max(0.0, expires_at - issued_at)
        return expires_at - min(self.renew_before_s, life / 2)

    def due(self, now: float | None = None) -> bool:
        """Whether the file needs a new token now."""
        expires = self.expires_at()
        if expires is None:
            return True
        issued = self._issued_at()
        return (time.time() if now is None else now) >= self.renew_at(expires, issued or expires - 3600)

    def renew(self) -> Written:
        """Fetch a new ID token and replace the file with it (raises what the supplier raises)."""
        token = fetch_id_token(self.settings, self.audience, self._supplier)
        claims = shown_claims(token)
        write_private(self.path, token.encode())
        expires = float(claims.get("exp", time.time() + 3600))
        _log.info(
            "wrote a Google ID token to %s (sub %s, aud %s, expires in %.0f s)",
            self.path,
            claims.get("sub"),
            claims.get("aud"),
            expires - time.time(),
        )
        return Written(claims, expires)

    def refresh_if_due(self) -> Written | None:
        """Renew the token if it is due; ``None`` if the one in the file is still good.

        Concurrent callers (several one-shot runs) renew once: the second finds a fresh file under the lock.
        """
        with locked(self.path):
            if not self.due():
                return None
            return self.renew()

    def run(self, stop: threading.Event) -> None:
        """Keep the file fresh until ``stop`` is set. A failed renewal keeps the current file, is logged
        (redacted) and retried after ``retry_after_failure_s``."""
        while not stop.is_set():
            try:
                self.refresh_if_due()
                wait = max(1.0, self._next_renewal() - time.time())
            except Exception as error:  # the next attempt may succeed; the file keeps its token meanwhile
                _log.warning(
                    "renewing %s failed; retrying in %.0f s: %s",
                    self.path,
                    self.retry_after_failure_s,
                    redact(str(error)),
                )
                wait = self.retry_after_failure_s
            stop.wait(wait)

    def _next_renewal(self) -> float:
        expires = self.expires_at()
        if expires is None:
            return time.time()
        return self.renew_at(expires, self._issued_at() or expires - 3600)

    def _issued_at(self) -> float | None:
        iat = self._file_claims().get("iat")
        return float(iat) if isinstance(iat, int | float) else None


def describe_written(path: Path, written: Written | None, keeper: TokenFileKeeper) -> str:
    """One line for the operator: what the file holds now (claims and expiry, never the token)."""
    if written is None:
        expires = keeper.expires_at() or 0.0
        return f"{path}: still fresh (expires in {int(expires - time.time())} s)"
    shown = {k: written.claims.get(k) for k in ("iss", "sub", "aud", "email")}
    return f"{path}: renewed ({json.dumps(shown)}; expires in {int(written.expires_at - time.time())} s)"
