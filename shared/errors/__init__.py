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
    RETRYABLE_STATUS,
    EntraRefusal,
    FederationError,
    GoogleIdTokenError,
    IamRefusal,
    ManagedIdentityError,
    SettingsError,
    StsRefusal,
    UpstreamRefusal,
    UpstreamUnavailable,
    body_text,
    is_unavailable,
    json_body,
)
from shared.errors.entra import AADSTS, entra_refusal, entra_refusal_of
from shared.errors.google import STS_FIXES, google_api_refusal, sts_refusal

__all__ = [
    "AADSTS",
    "RETRYABLE_STATUS",
    "STS_FIXES",
    "EntraRefusal",
    "FederationError",
    "GoogleIdTokenError",
    "IamRefusal",
    "ManagedIdentityError",
    "SettingsError",
    "StsRefusal",
    "UpstreamRefusal",
    "UpstreamUnavailable",
    "body_text",
    "entra_refusal",
    "entra_refusal_of",
    "google_api_refusal",
    "is_unavailable",
    "json_body",
    "sts_refusal",
]
