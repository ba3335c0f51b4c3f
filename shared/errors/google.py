"""Google's refusals: STS (RFC 6749 errors) and the Google APIs (IAM Credentials, metadata), with the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.errors.base import (
    FederationError,
    IamRefusal,
    StsRefusal,
    UpstreamUnavailable,
    is_unavailable,
    json_body,
)

# What to change, by what STS's error and description say (lowercased; the first pattern found wins).
# ``{provider}``, ``{azure_audience}`` and ``{claims}`` are filled from the request's context.
STS_FIXES: tuple[tuple[str, str], ...] = (
    (
        r"audience.*id token|id token.*audience",
        "request the Azure token for one of the provider's allowed audiences: set AZURE_TOKEN_AUDIENCE "
        "(now {azure_audience}) or add it to the provider's allowed_audiences.",
    ),
    (
        r"audience|invalid_target",
        "GCP_WORKLOAD_IDENTITY_PROVIDER must name an existing, enabled provider as "
        "projects/<PROJECT_NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER> "
        "(the project number, not the ID); now {provider}.",
    ),
    (
        r"issuer",
        "the provider's issuer_uri must match the Azure token's version: v1 tokens (the default) have "
        "https://sts.windows.net/<tenant-id>/, v2 tokens https://login.microsoftonline.com/<tenant-id>/v2.0 "
        "(the app registration's accessTokenAcceptedVersion decides).",
    ),
    (
        r"attribute condition",
        "the provider's attribute_condition must admit this identity ({claims}): add its tenant/object ID.",
    ),
    (
        r"expired|future|stale",
        "the Azure token was expired or future-dated: check the clock; a fresh token is fetched per exchange.",
    ),
    (
        r"signature|parse",
        "the subject token must be an Entra-issued access token (check the Azure credential source).",
    ),
    (
        r"mapping|google\.subject",
        "fix the provider's attribute_mapping (google.subject must map to a value of at most 127 bytes).",
    ),
)
_STS_DEFAULT_FIX = "check the workload identity provider {provider} and its attribute mapping and condition."


def sts_refusal(
    body: str | Mapping[str, Any] | None, *, status: int | None, context: Mapping[str, str]
) -> FederationError:
    """Translate a Google STS error (RFC 6749 ``error`` + ``error_description``).

    ``context``: ``provider`` (the full audience), ``audience_setting``, ``subject_claims``.
    """
    data = json_body(body)
    error = str(data.get("error") or "sts_error")
    description = str(data.get("error_description") or data.get("error") or body or "")
    if is_unavailable(status):
        return UpstreamUnavailable(
            description or "Google STS is unavailable", hop="gcp.sts", code=error, status=status
        )
    values = {
        "provider": context.get("provider", "the workload identity provider"),
        "azure_audience": context.get("azure_audience", "?"),
        "claims": context.get("subject_claims", ""),
    }
    said = f"{error} {description}".lower()
    fix = next((fix for words, fix in STS_FIXES if re.search(words, said, re.DOTALL)), _STS_DEFAULT_FIX)
    return StsRefusal(
        f"Google STS refused the token exchange: {description}",
        hop="gcp.sts",
        fix=fix.format_map(values),
        code=error,
        status=status,
    )


# -- Google APIs (IAM Credentials, metadata) --------------------------------------------------


def google_api_refusal(
    body: str | Mapping[str, Any] | None, *, status: int | None, hop: str, context: Mapping[str, str]
) -> FederationError:
    """Translate a Google API error (``{"error": {"code", "message", "status", "details"}}``).

    ``context``: ``service_account``, ``principal`` (the member that needs the binding), ``role``.
    """
    data = json_body(body)
    error: dict[str, Any] = data["error"] if isinstance(data.get("error"), dict) else {}
    message = str(error.get("message") or data.get("error_description") or body or f"HTTP {status}")
    code = str(error.get("status") or status or "")
    if is_unavailable(status):
        return UpstreamUnavailable(message, hop=hop, code=code, status=status)
    account = context.get("service_account", "the service account")
    if status == 403:
        role = context.get("role", "roles/iam.workloadIdentityUser")
        fix = (
            f"grant {role} on service account {account} to {context.get('principal', 'the caller')}"
            " (the member string must match exactly)."
        )
    elif status == 404:
        fix = f"service account {account} does not exist: check {context.get('setting', 'GCP_SERVICE_ACCOUNT')}."
    elif status == 401:
        fix = "the federated token was not accepted: check the pool provider and the universe domain."
    else:
        fix = "check the request's settings."
    return IamRefusal(message, hop=hop, fix=fix, code=code, status=status)
