"""The async twin of :class:`shared.google_to_azure.GoogleFederatedCredential`.

azure-identity's async ``ClientAssertionCredential`` calls its assertion callback
synchronously, so a metadata-server request made there would block the event loop. Here the
ID token is fetched in a worker thread first and handed to the callback through a context
variable of the fetching task; the Entra request itself runs on the loop (aiohttp).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.identity.aio import ClientAssertionCredential

from shared import errors, tracing
from shared._google_to_azure_base import GoogleToAzureBase
from shared.google_id_tokens import GoogleIdTokenSupplier
from shared.refresh import AsyncTokenHolder, Fetched, RefreshTiming
from shared.retry import deadline_scope
from shared.settings import GoogleToAzureSettings

_ASSERTION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "google_id_token_assertion", default=None
)


class GoogleFederatedCredential(GoogleToAzureBase[AsyncTokenHolder[AccessTokenInfo]]):
    """An azure-core ``AsyncTokenCredential`` (and ``AsyncSupportsTokenInfo``) for a Google workload.

    Use one instance per event loop; close it with ``await credential.close()`` or ``async with``.
    Keyword arguments go to azure-identity's async ``ClientAssertionCredential``
    (``connection_verify`` for a private CA: aiohttp does not read ``REQUESTS_CA_BUNDLE``).
    """

    def __init__(
        self,
        settings: GoogleToAzureSettings | None = None,
        *,
        id_tokens: GoogleIdTokenSupplier | None = None,
        timing: RefreshTiming = RefreshTiming(),
        **client_kwargs: Any,
    ) -> None:
        super().__init__(settings, id_tokens, timing, lambda t, name: AsyncTokenHolder(t, name))
        self._client = ClientAssertionCredential(
            self.settings.tenant_id,
            self.settings.client_id,
            self._prefetched_assertion,
            **self._client_kwargs(True, client_kwargs),
        )

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """An access token for ``scopes`` (azure-core's ``AsyncTokenCredential`` protocol)."""
        info = await self.get_token_info(*scopes, options=self._options(claims, tenant_id, enable_cae))
        return AccessToken(info.token, info.expires_on)

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """An access token with its refresh time; a claims challenge always fetches a new one."""
        options = self._own_tenant(options)
        if options and options.get("claims"):
            return (await self._fetch(scopes, options))[0]
        return await self._holder(scopes, options).get(lambda: self._fetch(scopes, options))

    async def _fetch(
        self, scopes: tuple[str, ...], options: TokenRequestOptions | None
    ) -> Fetched[AccessTokenInfo]:
        with deadline_scope(self.settings.retry):
            try:
                assertion = await asyncio.to_thread(self._fresh_assertion)
            except errors.FederationError as exc:
                raise self._translate(exc, scopes) from None
            reset = _ASSERTION.set(assertion)
            try:
                with tracing.hop("entra.token", self.token_endpoint):
                    try:
                        info = await self._client.get_token_info(*scopes, options=options)
                    except Exception as exc:
                        raise self._translate(exc, scopes) from None
            finally:
                _ASSERTION.reset(reset)
        return info, self._expires_at(info)

    def _prefetched_assertion(self) -> str:
        assertion = _ASSERTION.get()
        if assertion is None:  # only reachable if azure-identity calls back outside _fetch
            raise errors.GoogleIdTokenError(
                "no Google ID token was prepared for this request", hop="gcp.metadata"
            )
        return assertion

    async def close(self) -> None:
        """Cancel background refreshes and close the underlying HTTP client."""
        for holder in list(self._holders.values()):
            await holder.aclose()
        await self._client.close()

    async def __aenter__(self) -> GoogleFederatedCredential:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()
