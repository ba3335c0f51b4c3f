"""What the sync and async Google -> Azure credentials share (as azure-identity's mixins do).

Settings, the ID-token supplier, one token holder per request shape, the Entra client's
keyword arguments (no second token cache, this project's retry policy, the authority) and
the translation of Entra's refusals.
"""

from __future__ import annotations

import sys
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
from shared.retry import RetryingRequest, azure_retry_kwargs, certificate_rejected, untrusted_certificate
from shared.settings import GoogleToAzureSettings
from shared.settings.common import token_exchange_audience

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
        try:
            token = self.id_tokens.get_id_token(
                self.settings.id_token_audience, RetryingRequest(Request(), self.settings.retry)
            )
        except errors.FederationError:
            raise
        except Exception as exc:  # a custom supplier's own failure: name it, with its type
            raise errors.GoogleIdTokenError(
                f"the Google ID token supplier {type(self.id_tokens).__name__} failed: "
                f"{type(exc).__name__}: {exc}",
                hop="gcp.id_token",
                fix="fix the ID token supplier (id_tokens=...) or use GOOGLE_ID_TOKEN_SOURCE's built-in sources.",
            ) from None
        errors.jwt_claims(  # a JWT, or an error naming the supplier
            token,
            hop="gcp.id_token",
            what=f"the Google ID token supplier {type(self.id_tokens).__name__}",
            fix="a GoogleIdTokenSupplier must return the ID token itself (a JWT string starting 'eyJ'), not the "
            'generateIdToken or metadata response body ({"token": ...}) or bytes.',
        )
        self.last_assertion_claims = shown_claims(token)
        return token

    def _translate(self, exc: Exception, scopes: tuple[str, ...] = ()) -> Exception:
        """An Entra failure as a :class:`shared.errors.FederationError` (others unchanged), final for the
        Azure SDK clients' retry policies (:func:`final_in_azure_pipelines`)."""
        translated = self._translate_only(exc, scopes)
        if isinstance(translated, errors.FederationError):
            return final_in_azure_pipelines(translated)
        return translated

    def _translate_only(self, exc: Exception, scopes: tuple[str, ...]) -> Exception:
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
                    "resource": " ".join(scope.removesuffix("/.default") for scope in scopes) or "?",
                    "scope": " ".join(scopes) or "?",
                    "token_exchange_audience": token_exchange_audience(self.settings.authority_host),
                },
            )
        if isinstance(exc, AzureError) and certificate_rejected(exc):
            return untrusted_certificate("entra.token", self.token_endpoint)
        if isinstance(exc, AzureError):
            return errors.UpstreamUnavailable(
                f"Entra ID did not answer within the retry deadline ({type(exc).__name__})", hop="entra.token"
            )
        return exc

    @staticmethod
    def _expires_at(info: AccessTokenInfo) -> float:
        return float(info.expires_on)

    def _own_tenant(self, options: TokenRequestOptions | None) -> TokenRequestOptions | None:
        """``options`` without a ``tenant_id`` other than ``AZURE_TENANT_ID``'s.

        The federated identity credential lives in one tenant, so this credential signs in there only and,
        like azure-identity's ``ManagedIdentityCredential`` ("tenant_id: not used by this credential"),
        ignores another tenant. Another tenant is asked for by tenant discovery: azure-storage-blob's
        ``StorageBearerTokenCredentialPolicy.on_challenge`` asks for the tenant named in Storage's 401
        bearer challenge (azure/storage/blob/_shared/policies.py). Passing it on would make azure-identity
        refuse with "not configured to acquire tokens for tenant …" at hop entra.token; ignoring it lets
        Storage's own refusal ("Issuer validation failed", hop azure.data) reach the caller, which names
        the real mistake: the storage account is in another tenant than ``AZURE_TENANT_ID``.
        """
        tenant = (options or {}).get("tenant_id")
        if not options or not tenant or tenant.lower() == self.settings.tenant_id.lower():
            return options
        return {key: value for key, value in options.items() if key != "tenant_id"}  # type: ignore[return-value]

    @staticmethod
    def _options(claims: str | None, tenant_id: str | None, enable_cae: bool) -> TokenRequestOptions:
        """``get_token``'s keyword arguments as ``get_token_info``'s options."""
        options: TokenRequestOptions = {"enable_cae": enable_cae}
        if claims:
            options["claims"] = claims
        if tenant_id:
            options["tenant_id"] = tenant_id
        return options


# -- the Azure SDK clients' retry policies ----------------------------------------------------

_FINAL_CLASSES: dict[tuple[type[Exception], ...], type[Exception]] = {}


def _storage_signing_errors() -> tuple[type[Exception], ...]:
    """``AzureSigningError`` of every azure-storage package loaded (each vendors its own ``_shared``)."""
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("azure.storage.") and name.endswith("._shared.authentication"):
            error = getattr(module, "AzureSigningError", None)
            if isinstance(error, type) and issubclass(error, Exception):
                found.append(error)
    return tuple(found)


def final_in_azure_pipelines(error: errors.FederationError) -> errors.FederationError:
    """``error``, made an instance of the storage SDKs' ``AzureSigningError`` as well.

    azure-core's ``RetryPolicy`` re-raises a ``ClientAuthenticationError`` from the credential
    (the credential has already retried its own requests: Azure/azure-sdk-for-python#6019, #6025),
    but azure-storage's ``StorageRetryPolicy.send`` retries every ``AzureError`` except its own
    ``AzureSigningError`` (azure-storage-blob ``_shared/policies.py``). Behind the default
    ``ExponentialRetry`` that re-runs the whole federation, its retries and its deadline, four
    times with 15-57 s sleeps between. Our error already spent the request's deadline (or is a
    refusal that cannot succeed on a second try), so it is made final there too. It stays an
    instance of its own class: ``except EntraRefusal`` and ``except ClientAuthenticationError``
    still catch it.
    """
    bases = tuple(b for b in _storage_signing_errors() if not isinstance(error, b))
    if not bases:
        return error
    key = (type(error), *bases)
    final = _FINAL_CLASSES.get(key)
    if final is None:
        final = _FINAL_CLASSES[key] = type(type(error).__name__, (type(error), *bases), {})
        final.__module__ = type(error).__module__
        final.__qualname__ = type(error).__qualname__
    error.__class__ = final  # type: ignore[assignment]  # a subclass of its own class
    return error
