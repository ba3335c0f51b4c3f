"""One exception hierarchy for both directions, and the translation of upstream refusals.

Every error says which hop failed, what the upstream said (its code and correlation id kept
as attributes), and what to change. :class:`FederationError` is at once a
``google.auth.exceptions.RefreshError`` and an ``azure.core.exceptions.ClientAuthenticationError``,
so code written for either SDK catches it where it already catches authentication failures.
No message ever contains a token: everything passes through :func:`shared.redaction.redact`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ClientAuthenticationError
from google.auth.exceptions import RefreshError

from shared.redaction import redact


class FederationError(RefreshError, ClientAuthenticationError):
    """A federation step failed. Catchable as ``RefreshError`` and as ``ClientAuthenticationError``.

    Attributes: ``hop`` (``entra.token``, ``gcp.sts``, ``gcp.iam``, ``azure.msi``,
    ``gcp.metadata`` ...), ``code`` (``AADSTS70021``, ``invalid_grant``, ``PERMISSION_DENIED``),
    ``status`` (HTTP status or ``None``), ``correlation_id``, ``fix`` (what to change), ``retryable``.
    """

    def __init__(
        self,
        message: str,
        *,
        hop: str,
        fix: str = "",
        code: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        self.hop = hop
        self.code = code
        self.status = status
        self.correlation_id = correlation_id
        self.fix = redact(fix)
        self.detail = redact(message)
        text = f"[{hop}] {self.detail}"
        if fix:
            text += f" Fix: {self.fix}"
        refs = [
            f"upstream {code}" if code else "",
            f"correlation id {correlation_id}" if correlation_id else "",
        ]
        if any(refs):
            text += f" ({', '.join(r for r in refs if r)})"
        ClientAuthenticationError.__init__(self, message=text)
        self.status_code = status
        self._retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.detail, self.__dict__))


def _rebuild(cls: type[FederationError], detail: str, state: dict[str, Any]) -> FederationError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, state.get("message", detail))
    return error


class UpstreamRefusal(FederationError):
    """An identity service refused the request (a 4xx): retrying cannot help; a setting must change."""


class EntraRefusal(UpstreamRefusal):
    """Microsoft Entra ID refused a token request (``AADSTSnnnnn``)."""


class ManagedIdentityError(UpstreamRefusal):
    """The Azure managed identity endpoint refused, or no managed identity is available here."""


class StsRefusal(UpstreamRefusal):
    """Google STS refused the token exchange (``invalid_grant``, ``invalid_request`` ...)."""


class IamRefusal(UpstreamRefusal):
    """IAM Credentials refused to mint a token for the service account (403 / 404)."""


class GoogleIdTokenError(UpstreamRefusal):
    """No Google ID token could be had from the configured source."""


class UpstreamUnavailable(FederationError):
    """A hop kept failing with 408/429/5xx, resets or timeouts until the retry deadline passed."""

    def __init__(self, message: str, *, hop: str, retry_after_s: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("retryable", True)
        super().__init__(message, hop=hop, **kwargs)
        self.retry_after_s = retry_after_s


class SettingsError(FederationError, ValueError):
    """The settings are invalid. ``problems`` lists every one at once: (setting, what is wrong)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "; ".join(f"{name}: {what}" for name, what in self.problems)
        super().__init__(
            f"{len(self.problems)} setting(s) to fix: {lines}",
            hop="settings",
            fix="change the settings named.",
        )


# -- Entra ID ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aadsts:
    meaning: str
    fix: str


# What each AADSTS code means for this federation, and what to change. ``{client_id}``,
# ``{tenant_id}``, ``{assertion}`` and ``{setting_*}`` are filled from the request's context.
AADSTS: dict[int, _Aadsts] = {
    90002: _Aadsts("the tenant was not found", "set AZURE_TENANT_ID to your directory (tenant) ID, a GUID."),
    90013: _Aadsts("the request had an invalid input", "check AZURE_TENANT_ID and AZURE_CLIENT_ID."),
    700016: _Aadsts(
        "the application {client_id} was not found in tenant {tenant_id}",
        "set AZURE_CLIENT_ID to the app registration's Application (client) ID, in the tenant named by "
        "AZURE_TENANT_ID.",
    ),
    7000112: _Aadsts("the application is disabled", "enable the app registration's service principal."),
    70021: _Aadsts(
        "no federated identity credential on app {client_id} matches the assertion ({assertion})",
        "add a federated identity credential with exactly this issuer, subject and audience to the app "
        "registration (subject = the Google service account's numeric unique ID), or set GOOGLE_ID_TOKEN_AUDIENCE "
        "to the credential's audience.",
    ),
    700211: _Aadsts(
        "no federated identity credential on app {client_id} trusts the assertion's issuer ({assertion})",
        "the federated credential's issuer must be exactly https://accounts.google.com.",
    ),
    700212: _Aadsts(
        "no federated identity credential on app {client_id} accepts the assertion's audience ({assertion})",
        "set GOOGLE_ID_TOKEN_AUDIENCE to the federated credential's audience (normally "
        "api://AzureADTokenExchange).",
    ),
    700213: _Aadsts(
        "no federated identity credential on app {client_id} matches the assertion's subject ({assertion})",
        "set the federated credential's subject to the service account's numeric unique ID (not its e-mail).",
    ),
    7002138: _Aadsts(
        "the assertion's subject matches a federated credential only if case is ignored ({assertion})",
        "subjects are case-sensitive: copy the subject exactly into the federated credential.",
    ),
    70025: _Aadsts(
        "app {client_id} has no federated identity credentials",
        "add a federated identity credential for the Google service account to the app registration.",
    ),
    700024: _Aadsts(
        "the client assertion is outside its valid time range",
        "a stale or future-dated Google ID token: fetch a fresh one per request (this library does) and "
        "check the machine's clock.",
    ),
    50027: _Aadsts(
        "the client assertion is not a valid JWT",
        "the Google ID token source returned something that is not an ID token: check GOOGLE_ID_TOKEN_SOURCE.",
    ),
    700027: _Aadsts(
        "the client assertion's signature could not be verified",
        "the assertion must be a Google-signed ID token (metadata server, key file or generateIdToken).",
    ),
    7000215: _Aadsts(
        "the client secret is invalid", "set AZURE_CLIENT_SECRET to the secret's value (not its ID)."
    ),
    7000222: _Aadsts(
        "the client secret has expired", "create a new client secret and update AZURE_CLIENT_SECRET."
    ),
    7000218: _Aadsts(
        "the request carried neither a client assertion nor a client secret",
        "configure a credential source (GOOGLE_ID_TOKEN_SOURCE, or AZURE_CLIENT_SECRET for local development).",
    ),
    500011: _Aadsts(
        "the resource {resource} has no service principal in the tenant",
        "for Azure -> Google, AZURE_TOKEN_AUDIENCE must be the identifier URI of the audience app, and the app "
        "needs a service principal in the tenant; for an Azure SDK scope, use '<resource>/.default'.",
    ),
    70011: _Aadsts("the scope is invalid", "a client-credentials scope must be '<resource>/.default'."),
    1002012: _Aadsts("the scope is invalid", "a client-credentials scope must be '<resource>/.default'."),
    70003: _Aadsts("the grant type is not supported", "use client credentials with a client assertion."),
    53003: _Aadsts(
        "Conditional Access blocked the sign-in",
        "exclude this workload identity from the Conditional Access policy, or satisfy it.",
    ),
}

_AADSTS_CODE = re.compile(r"AADSTS(\d+)")
_CORRELATION = re.compile(r"Correlation ID:\s*([0-9a-fA-F-]{36})")


def entra_refusal(
    body: str | Mapping[str, Any] | None,
    *,
    status: int | None,
    context: Mapping[str, str],
    fallback: str = "",
    hop: str = "entra.token",
) -> FederationError:
    """Translate an Entra token-endpoint error body into an :class:`EntraRefusal`.

    ``hop`` is where the refusal surfaced (``azure.msi`` when a managed identity endpoint relayed it).

    ``context`` fills the table's placeholders: ``client_id``, ``tenant_id``, ``assertion``
    (the assertion's ``iss``/``sub``/``aud``, never the assertion itself).
    """
    data = json_body(body)
    description = str(data.get("error_description") or fallback or data.get("error") or "")
    codes = data.get("error_codes") or [int(c) for c in _AADSTS_CODE.findall(description)[:1]]
    code = int(codes[0]) if codes else None
    correlation = data.get("correlation_id") or _first(_CORRELATION.findall(description))
    short = description.split(" Trace ID:")[0]
    if status is not None and (status >= 500 or status in (408, 429)):
        return UpstreamUnavailable(
            short or "Entra ID is unavailable", hop=hop, code=_aadsts(code), status=status
        )
    entry = AADSTS.get(code) if code is not None else None
    values = {"client_id": "?", "tenant_id": "?", "assertion": "?", "resource": "?", **context}
    if entry is None:
        return EntraRefusal(
            short or "Entra ID refused the token request",
            hop=hop,
            fix="see the AADSTS code's documentation; check AZURE_TENANT_ID and AZURE_CLIENT_ID.",
            code=_aadsts(code) or data.get("error"),
            status=status,
            correlation_id=correlation,
        )
    return EntraRefusal(
        f"Entra ID: {entry.meaning.format_map(values)}. Upstream said: {short}",
        hop=hop,
        fix=entry.fix.format_map(values),
        code=_aadsts(code),
        status=status,
        correlation_id=correlation,
    )


def _aadsts(code: int | None) -> str | None:
    return f"AADSTS{code}" if code is not None else None


# -- Google STS -------------------------------------------------------------------------------


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


# -- helpers ----------------------------------------------------------------------------------


def jwt_claims(token: object, *, hop: str, what: str, fix: str) -> dict[str, Any]:
    """The unverified claims of ``token``, or :class:`GoogleIdTokenError`/:class:`ManagedIdentityError`
    (by ``hop``) saying that ``what`` returned something that is not a JWT, and its type."""
    from google.auth import jwt as google_jwt  # already loaded by google-auth

    error = GoogleIdTokenError if hop.startswith("gcp") else ManagedIdentityError
    if not isinstance(token, str):
        raise error(f"{what} returned a {type(token).__name__}, not a JWT string", hop=hop, fix=fix)
    try:
        claims: dict[str, Any] = google_jwt.decode(token, verify=False)
    except Exception:  # binascii.Error, ValueError, MalformedError, UnicodeDecodeError ...
        shape = "a JSON object" if token.lstrip().startswith("{") else f"{len(token)} characters"
        raise error(f"{what} returned something that is not a JWT ({shape})", hop=hop, fix=fix) from None
    return claims


def json_body(body: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
    """An error response body as a dict (empty if it is not a JSON object)."""
    if isinstance(body, Mapping):
        return dict(body)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _first(items: Sequence[str]) -> str | None:
    return items[0] if items else None
