"""Builds the Azure credential that supplies the Azure token for Azure -> Google.

One place decides which azure-identity credential a setting means, with the retry policy
and the authority host applied: managed identity (Functions / App Service, VM IMDS,
user-assigned by client ID), workload identity (AKS), client secret, or
``DefaultAzureCredential`` for local development. :class:`StaticTokenCredential` serves a
token already in hand.
"""

from __future__ import annotations

import os
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential

from shared.retry import azure_retry_kwargs
from shared.settings import AUTHORITY_HOSTS, AzureToGoogleSettings


def is_microsoft_authority(authority: str) -> bool:
    """Whether MSAL may run its instance discovery against ``authority`` (only Microsoft's own hosts)."""
    return authority.rstrip("/") in AUTHORITY_HOSTS.values()


def azure_credential(settings: AzureToGoogleSettings) -> TokenCredential:
    """The azure-identity credential for ``settings.azure_source``."""
    from azure import identity

    authority = settings.authority_host
    common: dict[str, Any] = {"authority": authority}
    if not is_microsoft_authority(authority):
        common["disable_instance_discovery"] = True  # a private authority (the lab, Azure Stack)
    source = settings.azure_source
    if source == "managed_identity":
        # azure-identity's IMDS credential brings its own retry policy class; App Service takes ours.
        app_service = bool(os.environ.get("IDENTITY_ENDPOINT"))
        return identity.ManagedIdentityCredential(
            client_id=settings.azure_client_id, **azure_retry_kwargs(settings.retry, policy_class=app_service)
        )
    retry = azure_retry_kwargs(settings.retry)
    if source == "workload_identity":
        return identity.WorkloadIdentityCredential(
            tenant_id=settings.azure_tenant_id,
            client_id=settings.azure_client_id,
            token_file_path=settings.azure_federated_token_file,
            **common,
            **retry,
        )
    if source == "client_secret":
        return identity.ClientSecretCredential(
            str(settings.azure_tenant_id),
            str(settings.azure_client_id),
            str(settings.azure_client_secret),
            **common,
            **retry,
        )
    return identity.DefaultAzureCredential(
        authority=authority,
        managed_identity_client_id=settings.azure_client_id,
        exclude_interactive_browser_credential=True,
        **({"disable_instance_discovery": True} if "disable_instance_discovery" in common else {}),
    )


class StaticTokenCredential:
    """An azure-core ``TokenCredential`` that hands out one token it was given, for any scope.

    Nothing is fetched: for a token already in hand (doctor's Azure token, handed on to the
    exchange; the benchmarks' static mode; seeding Azurite). ``expires_on``: Unix seconds.
    """

    def __init__(self, token: str, expires_on: int) -> None:
        self._token = token
        self._expires_on = expires_on

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, self._expires_on)
