"""One exception hierarchy for both directions (the translations of upstream refusals are beside it).

Every error says which hop failed, what the upstream said (its code and correlation id kept
as attributes), and what to change. :class:`FederationError` is at once a
``google.auth.exceptions.RefreshError`` and an ``azure.core.exceptions.ClientAuthenticationError``,
so code written for either SDK catches it where it already catches authentication failures.
No message ever contains a token: everything passes through :func:`shared.redaction.redact`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from azure.core.exceptions import ClientAuthenticationError
from google.auth.exceptions import RefreshError

from shared.redaction import redact

# The statuses every hop and data call retries (shared.retry, both functions' data calls): the service,
# not the request, failed, so the same request may succeed later.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def is_unavailable(status: int | None) -> bool:
    """Whether a final ``status`` means the service was unavailable (408, 429, any 5xx), not a refusal.

    Broader than :data:`RETRYABLE_STATUS`: a 501 is not retried, but it is still the service's failure.
    """
    return status is not None and (status >= 500 or status in (408, 429))


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


# -- helpers ----------------------------------------------------------------------------------


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


def body_text(response: Any) -> str:
    """The body of an upstream response as text ("" if there is none or it cannot be read).

    ``response`` is azure-core's ``HttpResponse`` (``text()``) or google-auth's transport response (``data``).
    """
    if response is None:
        return ""
    try:
        if callable(getattr(response, "text", None)):
            return str(response.text())
        data = response.data
    except Exception:  # a response without a readable body
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
