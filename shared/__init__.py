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

# What ``from shared import ...`` offers, by the module that defines it: imported on first use.
_EXPORTS = {
    "shared.azure_to_google": (
        "google_credentials",
        "AzureFederatedCredentials",
        "AzureSubjectTokenSupplier",
    ),
    "shared.google_to_azure": ("GoogleFederatedCredential",),
    "shared.google_id_tokens": (
        "GoogleIdTokenSupplier",
        "MetadataIdTokens",
        "KeyFileIdTokens",
        "ImpersonatedIdTokens",
    ),
    "shared.settings": ("AzureToGoogleSettings", "GoogleToAzureSettings", "RetrySettings"),
    "shared.refresh": ("RefreshTiming",),
    "shared.errors": (
        "FederationError",
        "SettingsError",
        "UpstreamRefusal",
        "UpstreamUnavailable",
        "EntraRefusal",
        "ManagedIdentityError",
        "StsRefusal",
        "IamRefusal",
        "GoogleIdTokenError",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)

if TYPE_CHECKING:  # the same names, for type checkers (a test keeps the two lists equal)
    from shared.azure_to_google import AzureFederatedCredentials as AzureFederatedCredentials
    from shared.azure_to_google import AzureSubjectTokenSupplier as AzureSubjectTokenSupplier
    from shared.azure_to_google import google_credentials as google_credentials
    from shared.errors import EntraRefusal as EntraRefusal
    from shared.errors import FederationError as FederationError
    from shared.errors import GoogleIdTokenError as GoogleIdTokenError
    from shared.errors import IamRefusal as IamRefusal
    from shared.errors import ManagedIdentityError as ManagedIdentityError
    from shared.errors import SettingsError as SettingsError
    from shared.errors import StsRefusal as StsRefusal
    from shared.errors import UpstreamRefusal as UpstreamRefusal
    from shared.errors import UpstreamUnavailable as UpstreamUnavailable
    from shared.google_id_tokens import GoogleIdTokenSupplier as GoogleIdTokenSupplier
    from shared.google_id_tokens import ImpersonatedIdTokens as ImpersonatedIdTokens
    from shared.google_id_tokens import KeyFileIdTokens as KeyFileIdTokens
    from shared.google_id_tokens import MetadataIdTokens as MetadataIdTokens
    from shared.google_to_azure import GoogleFederatedCredential as GoogleFederatedCredential
    from shared.refresh import RefreshTiming as RefreshTiming
    from shared.settings import AzureToGoogleSettings as AzureToGoogleSettings
    from shared.settings import GoogleToAzureSettings as GoogleToAzureSettings
    from shared.settings import RetrySettings as RetrySettings


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'shared' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
