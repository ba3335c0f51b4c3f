"""What the sync and async Google -> Azure credentials share (as azure-identity's mixins do).

Settings, the ID-token supplier, one token holder per request shape, the Entra client's
keyword arguments (no second token cache, this project's retry policy, the authority) and
the translation of Entra's refusals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from azure.core.credentials import AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import AzureError, ClientAuthenticationError
from google.auth.transport.requests import Request
from msal import TokenCache

from shared import errors
from shared.azure_credential import is_microsoft_authority
from shared.google_id_tokens import GoogleIdTokenSupplier, id_token_supplier
from shared.redaction import claims_text, shown_claims
from shared.refresh import RefreshTiming
from shared.retry import RetryingRequest, azure_retry_kwargs
from shared.settings import GoogleToAzureSettings

Holder = TypeVar("Holder")
HolderKey = tuple[tuple[str, ...], str | None, bool]


class _NoTokenCache(TokenCache):  # type: ignore[misc]  # msal is untyped
    """A cache that keeps nothing: the holders are the only cache, so each fetch reaches Entra."""

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return iter(())

    def add(self, event: Any, **kwargs: Any) -> None:
        return None


class GoogleToAzureBase(Generic[Holder]):
    """Shared state and logic of :class:`GoogleFederatedCredential` and its async twin."""

    def __init__(
        self,
        settings: GoogleToAzureSettings | None,
        id_tokens: GoogleIdTokenSupplier | None,
        timing: RefreshTiming,
        new_holder: Callable[[RefreshTiming, str], Holder],
    ) -> None:
        self.settings = settings or GoogleToAzureSettings.from_env()
        self.id_tokens = id_tokens or id_token_supplier(self.settings)
        self._timing = timing
        self._new_holder = new_holder
        self._holders: dict[HolderKey, Holder] = {}
        self._holders_lock = threading.Lock()
        self.last_assertion_claims: dict[str, Any] = {}

    def _client_kwargs(self, asynchronous: bool, overrides: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "authority": self.settings.authority_host,
            "cache": _NoTokenCache(),
            "cae_cache": _NoTokenCache(),
            **azure_retry_kwargs(self.settings.retry, asynchronous=asynchronous),
        }
        if not is_microsoft_authority(self.settings.authority_host):
            kwargs["disable_instance_discovery"] = True
        kwargs.update(overrides)
        return kwargs

    def token_holder(self, *scopes: str, options: TokenRequestOptions | None = None) -> Holder:
        """What holds the Entra token for ``scopes``: ``held`` (the token and its window), ``join_background()``."""
        return self._holder(scopes, options)

    def _holder(self, scopes: tuple[str, ...], options: TokenRequestOptions | None) -> Holder:
        options = options or {}
        key: HolderKey = (scopes, options.get("tenant_id"), bool(options.get("enable_cae")))
        with self._holders_lock:
            holder = self._holders.get(key)
            if holder is None:
                holder = self._holders[key] = self._new_holder(self._timing, f"entra:{' '.join(scopes)}")
            return holder

    @property
    def token_endpoint(self) -> str:
        """Entra's token endpoint for the tenant (for traces)."""
        return f"{self.settings.authority_host.rstrip('/')}/{self.settings.tenant_id}/oauth2/v2.0/token"

    def _fresh_assertion(self) -> str:
        """A fresh Google ID token (never a reused one), through a retrying transport."""
        token = self.id_tokens.get_id_token(
            self.settings.id_token_audience, RetryingRequest(Request(), self.settings.retry)
        )
        self.last_assertion_claims = shown_claims(token)
        return token

    def _translate(self, exc: Exception) -> Exception:
        """An Entra failure as a :class:`shared.errors.FederationError` (others unchanged)."""
        if isinstance(exc, errors.FederationError):
            return exc
        if isinstance(exc, ClientAuthenticationError):
            claims = self.last_assertion_claims
            return errors.entra_refusal_of(
                exc,
                context={
                    "client_id": self.settings.client_id,
                    "tenant_id": self.settings.tenant_id,
                    "assertion": claims_text(claims, ("iss", "sub", "aud")),
                },
            )
        if isinstance(exc, AzureError):
            return errors.UpstreamUnavailable(
                f"Entra ID did not answer within the retry deadline ({type(exc).__name__})", hop="entra.token"
            )
        return exc

    @staticmethod
    def _expires_at(info: AccessTokenInfo) -> float:
        return float(info.expires_on)

    @staticmethod
    def _options(claims: str | None, tenant_id: str | None, enable_cae: bool) -> TokenRequestOptions:
        """``get_token``'s keyword arguments as ``get_token_info``'s options."""
        options: TokenRequestOptions = {"enable_cae": enable_cae}
        if claims:
            options["claims"] = claims
        if tenant_id:
            options["tenant_id"] = tenant_id
        return options
