"""Keyless workload identity federation between Azure and Google Cloud, as drop-in SDK credentials.

Azure -> Google::

    from shared import google_credentials
    client = bigquery.Client(credentials=google_credentials())      # settings from the environment

Google -> Azure::

    from shared import GoogleFederatedCredential                     # shared.aio for the async twin
    service = BlobServiceClient(account_url, credential=GoogleFederatedCredential())

Names are imported lazily, so importing one direction does not load the other's SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.azure_to_google import (
        AzureFederatedCredentials,
        AzureSubjectTokenSupplier,
        google_credentials,
    )
    from shared.errors import (
        EntraRefusal,
        FederationError,
        GoogleIdTokenError,
        IamRefusal,
        ManagedIdentityError,
        SettingsError,
        StsRefusal,
        UpstreamRefusal,
        UpstreamUnavailable,
    )
    from shared.google_id_tokens import (
        GoogleIdTokenSupplier,
        ImpersonatedIdTokens,
        KeyFileIdTokens,
        MetadataIdTokens,
    )
    from shared.google_to_azure import GoogleFederatedCredential
    from shared.refresh import RefreshTiming
    from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings, RetrySettings

_EXPORTS = {
    "google_credentials": "shared.azure_to_google",
    "AzureFederatedCredentials": "shared.azure_to_google",
    "AzureSubjectTokenSupplier": "shared.azure_to_google",
    "GoogleFederatedCredential": "shared.google_to_azure",
    "GoogleIdTokenSupplier": "shared.google_id_tokens",
    "MetadataIdTokens": "shared.google_id_tokens",
    "KeyFileIdTokens": "shared.google_id_tokens",
    "ImpersonatedIdTokens": "shared.google_id_tokens",
    "AzureToGoogleSettings": "shared.settings",
    "GoogleToAzureSettings": "shared.settings",
    "RetrySettings": "shared.settings",
    "RefreshTiming": "shared.refresh",
    "FederationError": "shared.errors",
    "SettingsError": "shared.errors",
    "UpstreamRefusal": "shared.errors",
    "UpstreamUnavailable": "shared.errors",
    "EntraRefusal": "shared.errors",
    "ManagedIdentityError": "shared.errors",
    "StsRefusal": "shared.errors",
    "IamRefusal": "shared.errors",
    "GoogleIdTokenError": "shared.errors",
}
__all__ = [
    "AzureFederatedCredentials",
    "AzureSubjectTokenSupplier",
    "AzureToGoogleSettings",
    "EntraRefusal",
    "FederationError",
    "GoogleFederatedCredential",
    "GoogleIdTokenError",
    "GoogleIdTokenSupplier",
    "GoogleToAzureSettings",
    "IamRefusal",
    "ImpersonatedIdTokens",
    "KeyFileIdTokens",
    "ManagedIdentityError",
    "MetadataIdTokens",
    "RefreshTiming",
    "RetrySettings",
    "SettingsError",
    "StsRefusal",
    "UpstreamRefusal",
    "UpstreamUnavailable",
    "google_credentials",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shared' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
