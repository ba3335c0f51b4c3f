"""Google -> Azure: a Google ID token as the Entra client assertion, as an azure-core ``TokenCredential``.

:class:`GoogleFederatedCredential` works with every Azure SDK client
(``BlobServiceClient(account_url, credential=GoogleFederatedCredential())``). azure-identity's
``ClientAssertionCredential`` makes the token request; this class adds single flight (one ID
token and one Entra request however many threads ask), refresh ahead of expiry in the
background, retries inside a deadline, a fresh ID token for every assertion, and errors that
say what to fix. The async twin is :class:`shared.aio.GoogleFederatedCredential`.
"""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.identity import ClientAssertionCredential

from shared import tracing
from shared._google_to_azure_base import GoogleToAzureBase
from shared.google_id_tokens import GoogleIdTokenSupplier
from shared.refresh import Fetched, RefreshTiming, TokenHolder
from shared.retry import deadline_scope
from shared.settings import GoogleToAzureSettings


class GoogleFederatedCredential(GoogleToAzureBase[TokenHolder[AccessTokenInfo]]):
    """An Azure ``TokenCredential`` (and ``SupportsTokenInfo``) for a Google workload. Thread-safe.

    :param settings: default :meth:`GoogleToAzureSettings.from_env`.
    :param id_tokens: where Google ID tokens come from; default per ``settings.id_token_source``.
    :param client_kwargs: passed to azure-identity's ``ClientAssertionCredential``
        (``connection_verify``, ``transport`` ...).
    """

    def __init__(
        self,
        settings: GoogleToAzureSettings | None = None,
        *,
        id_tokens: GoogleIdTokenSupplier | None = None,
        timing: RefreshTiming = RefreshTiming(),
        **client_kwargs: Any,
    ) -> None:
        super().__init__(settings, id_tokens, timing, lambda t, name: TokenHolder(t, name))
        self._client = ClientAssertionCredential(
            self.settings.tenant_id,
            self.settings.client_id,
            self._fresh_assertion,
            **self._client_kwargs(False, client_kwargs),
        )

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """An access token for ``scopes`` (azure-core's ``TokenCredential`` protocol)."""
        info = self.get_token_info(*scopes, options=self._options(claims, tenant_id, enable_cae))
        return AccessToken(info.token, info.expires_on)

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        """An access token with its refresh time (azure-core's ``SupportsTokenInfo`` protocol).

        A claims challenge (``options["claims"]``) always fetches a new token.
        """
        options = self._own_tenant(options)
        if options and options.get("claims"):
            return self._fetch(scopes, options)[0]
        return self._holder(scopes, options).get(lambda: self._fetch(scopes, options))

    def _fetch(
        self, scopes: tuple[str, ...], options: TokenRequestOptions | None
    ) -> Fetched[AccessTokenInfo]:
        with deadline_scope(self.settings.retry), tracing.hop("entra.token", self.token_endpoint):
            try:
                info = self._client.get_token_info(*scopes, options=options)
            except Exception as exc:
                raise self._translate(exc, scopes) from None
        return info, self._expires_at(info)

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    def __enter__(self) -> GoogleFederatedCredential:
        self._client.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self._client.__exit__(*args)
