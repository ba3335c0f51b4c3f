"""One exception hierarchy for both directions, and the translation of upstream refusals.

Every error says which hop failed, what the upstream said (its code and correlation id kept
as attributes), and what to change. :class:`FederationError` is at once a
``google.auth.exceptions.RefreshError`` and an ``azure.core.exceptions.ClientAuthenticationError``,
so code written for either SDK catches it where it already catches authentication failures.
No message ever contains a token: everything passes through :func:`shared.redaction.redact`.

``base`` holds the hierarchy; ``entra`` translates Entra ID's refusals; ``google`` those of Google
STS and the Google APIs.
"""

from shared.errors.base import (
    EntraRefusal,
    FederationError,
    GoogleIdTokenError,
    IamRefusal,
    ManagedIdentityError,
    SettingsError,
    StsRefusal,
    UpstreamRefusal,
    UpstreamUnavailable,
    json_body,
)
from shared.errors.entra import AADSTS, entra_refusal
from shared.errors.google import google_api_refusal, sts_refusal

__all__ = [
    "AADSTS",
    "EntraRefusal",
    "FederationError",
    "GoogleIdTokenError",
    "IamRefusal",
    "ManagedIdentityError",
    "SettingsError",
    "StsRefusal",
    "UpstreamRefusal",
    "UpstreamUnavailable",
    "entra_refusal",
    "google_api_refusal",
    "json_body",
    "sts_refusal",
]
