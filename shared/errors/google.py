"""Google's refusals: STS (RFC 6749 errors) and the Google APIs (IAM Credentials, metadata), with the fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors.base import FederationError, IamRefusal, StsRefusal, UpstreamUnavailable, json_body


def sts_refusal(
    body: str | Mapping[str, Any] | None, *, status: int | None, context: Mapping[str, str]
) -> FederationError:
    """Translate a Google STS error (RFC 6749 ``error`` + ``error_description``).

    ``context``: ``provider`` (the full audience), ``audience_setting``, ``subject_claims``.
    """
    data = json_body(body)
    error = str(data.get("error") or "sts_error")
    description = str(data.get("error_description") or data.get("error") or body or "")
    if status is not None and (status >= 500 or status in (408, 429)):
        return UpstreamUnavailable(
            description or "Google STS is unavailable", hop="gcp.sts", code=error, status=status
        )
    lower = description.lower()
    provider = context.get("provider", "the workload identity provider")
    claims = context.get("subject_claims", "")
    if "audience" in lower and "id token" in lower:
        fix = (
            f"request the Azure token for one of the provider's allowed audiences: set AZURE_TOKEN_AUDIENCE "
            f"(now {context.get('azure_audience', '?')}) or add it to the provider's allowed_audiences."
        )
    elif "audience" in lower or error == "invalid_target":
        fix = (
            f"GCP_WORKLOAD_IDENTITY_PROVIDER must name an existing, enabled provider as "
            f"projects/<PROJECT_NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<PROVIDER> "
            f"(the project number, not the ID); now {provider}."
        )
    elif "issuer" in lower:
        fix = (
            "the provider's issuer_uri must match the Azure token's version: v1 tokens (the default) have "
            "https://sts.windows.net/<tenant-id>/, v2 tokens https://login.microsoftonline.com/<tenant-id>/v2.0 "
            "(the app registration's accessTokenAcceptedVersion decides)."
        )
    elif "attribute condition" in lower:
        fix = f"the provider's attribute_condition must admit this identity ({claims}): add its tenant/object ID."
    elif "expired" in lower or "future" in lower or "stale" in lower:
        fix = "the Azure token was expired or future-dated: check the clock; a fresh token is fetched per exchange."
    elif "signature" in lower or "parse" in lower:
        fix = "the subject token must be an Entra-issued access token (check the Azure credential source)."
    elif "mapping" in lower or "google.subject" in lower:
        fix = (
            "fix the provider's attribute_mapping (google.subject must map to a value of at most 127 bytes)."
        )
    else:
        fix = f"check the workload identity provider {provider} and its attribute mapping and condition."
    return StsRefusal(
        f"Google STS refused the token exchange: {description}",
        hop="gcp.sts",
        fix=fix,
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
    if status is not None and (status >= 500 or status in (408, 429)):
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
