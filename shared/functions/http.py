"""One HTTP contract for both functions: strict query parameters in, JSON out, every failure JSON.

Framework-neutral: an entrypoint reads its parameters through :class:`QueryParams`, does its
work, and turns the resulting :class:`Reply` (or :func:`error_reply` of whatever was raised)
into a Flask or an Azure Functions response. The contract:

=====  ===========================================================================================
400    a bad request parameter; ``error.parameter`` names it
401    the upstream data service did not accept the federated token
403    the federation or the data service refused this function's identity; ``error.fix`` says what to grant
404    the container, dataset or table does not exist
500    the function is misconfigured (``error.settings`` names the settings) or failed unexpectedly
502    the upstream service answered in a way the function did not expect
503    a cloud endpoint is unavailable; ``Retry-After`` says when to try again
=====  ===========================================================================================

Bodies are ``{"error": {"status", "code", "message", ...}}``; never a traceback, never a token.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from shared.errors import FederationError, SettingsError, UpstreamUnavailable, is_unavailable
from shared.redaction import redact

DEFAULT_RETRY_AFTER_S = 5
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# What to change for the data-plane refusals users meet, by the service's own error code.
DATA_PLANE_FIXES = {
    # Azure Storage (x-ms-error-code)
    "AuthorizationPermissionMismatch": "assign the 'Storage Blob Data Reader' role to the app registration's "
    "service principal (AZURE_CLIENT_ID) on the storage account or the container; new role assignments "
    "take a few minutes to apply.",
    "AuthorizationFailure": "the storage account's network rules or a deny assignment block this identity: "
    "allow the function's egress or grant 'Storage Blob Data Reader'.",
    "InvalidAuthenticationInfo": "Azure Storage did not accept the token: the app registration must be in the "
    "storage account's tenant (AZURE_TENANT_ID) and the token's audience https://storage.azure.com.",
    "ContainerNotFound": "no such container in the storage account: check the 'container' parameter or "
    "AZURE_STORAGE_CONTAINER.",
    # BigQuery (error reason)
    "accessDenied": "grant roles/bigquery.jobUser on the job project (BIGQUERY_PROJECT) and "
    "roles/bigquery.dataViewer on the dataset to the function's Google identity: GCP_SERVICE_ACCOUNT, or "
    "the workload identity pool's principal:// member when it is unset.",
    "notFound": "the dataset or table does not exist, or not in BIGQUERY_LOCATION.",
}


@dataclass(frozen=True)
class Reply:
    """A response, framework-neutral: status, a JSON-serialisable body, extra headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(self.body, default=str, separators=(",", ":"))

    @property
    def error(self) -> Mapping[str, Any] | None:
        """The body's ``error`` object, if this is an error reply."""
        error = self.body.get("error")
        return error if isinstance(error, Mapping) else None

    @property
    def error_code(self) -> str | None:
        return str(self.error["code"]) if self.error else None


class BadParameter(ValueError):
    """A request parameter is missing, unknown, repeated or invalid (HTTP 400)."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"bad parameter '{parameter}' - {problem}")
        self.parameter = parameter
        self.problem = problem


class QueryParams:
    """Query parameters, read strictly: unknown and repeated parameters are errors too.

    ``args`` is Flask's ``request.args.to_dict(flat=False)`` or Azure's ``req.params``.
    """

    def __init__(self, args: Mapping[str, str | Sequence[str]], known: Iterable[str]) -> None:
        self._known = tuple(known)
        self._values: dict[str, str] = {}
        for name, value in args.items():
            values = [value] if isinstance(value, str) else list(value)
            if name not in self._known:
                raise BadParameter(name, f"unknown parameter; expected any of {', '.join(self._known)}")
            if len(values) != 1:
                raise BadParameter(name, "give it once")
            self._values[name] = values[0]

    @property
    def given(self) -> set[str]:
        """The names of the parameters the request carries."""
        return set(self._values)

    def text(
        self,
        name: str,
        *,
        default: str | None = None,
        pattern: str | None = None,
        max_length: int = 1024,
        rule: str = "",
    ) -> str | None:
        """A string parameter (``default`` when absent), matched whole against ``pattern``."""
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if len(value) > max_length:
            raise BadParameter(name, f"at most {max_length} characters")
        if _CONTROL.search(value):
            raise BadParameter(name, "control characters are not allowed")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise BadParameter(name, rule or f"must match {pattern}")
        return value

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        """An integer parameter within ``[low, high]``."""
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if not re.fullmatch(r"[+-]?\d{1,12}", value.strip()):
            raise BadParameter(name, f"an integer from {low} to {high}; got {_shown(value)}")
        number = int(value)
        if not low <= number <= high:
            raise BadParameter(name, f"an integer from {low} to {high}; got {number}")
        return number

    def choice(self, name: str, choices: Iterable[str], *, default: str | None = None) -> str | None:
        """One of ``choices`` (case-sensitive)."""
        options = tuple(choices)
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if value not in options:
            raise BadParameter(name, f"one of {', '.join(options)}; got {_shown(value)}")
        return value


def ok(body: Mapping[str, Any]) -> Reply:
    return Reply(200, body)


def method_not_allowed(method: str, allowed: Sequence[str], *, request_id: str) -> Reply:
    message = f"{_shown(method)} is not served; use {', '.join(allowed)}"
    return Reply(
        405, _error(_failure(405, "method_not_allowed", message), request_id), {"Allow": ", ".join(allowed)}
    )


@dataclass(frozen=True)
class Failure:
    """What went wrong, by the contract in the module docstring: the status a caller gets, the error code,
    a message, and where known the hop, the upstream's code, the fix and the settings to change.

    Every text is redacted. :func:`error_reply` turns it into a reply; doctor shows it as a verdict.
    """

    status: int
    code: str
    message: str
    parameter: str | None = None
    settings: tuple[str, ...] = ()
    hop: str | None = None
    upstream_code: str | None = None
    fix: str | None = None
    correlation_id: str | None = None
    retry_after_s: int | None = None  # for 503: when to try again

    def fields(self) -> dict[str, Any]:
        """The body's ``error`` fields beyond status, code and message (the empty ones left out)."""
        extra = {
            "parameter": self.parameter,
            "settings": list(self.settings),
            "hop": self.hop,
            "upstream_code": self.upstream_code,
            "fix": self.fix,
            "correlation_id": self.correlation_id,
            "retry_after_s": self.retry_after_s,
        }
        return {key: value for key, value in extra.items() if value}


def describe(error: BaseException) -> Failure:
    """What anything an entrypoint (or doctor's step) raised means for its caller."""
    if isinstance(error, BadParameter):
        return _failure(400, "invalid_parameter", str(error), parameter=error.parameter)
    if isinstance(error, SettingsError):
        settings = tuple(sorted({name for name, _ in error.problems}))
        return _failure(500, "misconfigured", error.detail, settings=settings, fix=error.fix)
    if isinstance(error, UpstreamUnavailable):
        return _unavailable(error.detail, hop=error.hop, retry_after_s=error.retry_after_s)
    if isinstance(error, FederationError):
        return _failure(
            403,
            "federation_refused",
            error.detail,
            hop=error.hop,
            upstream_code=error.code,
            fix=error.fix,
            correlation_id=error.correlation_id,
        )
    if isinstance(error, HttpResponseError):
        return _azure_data_plane(error)
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return _unavailable(f"Azure endpoint unreachable: {type(error).__name__}", hop="azure")
    google = _google_api_error(error)
    if google is not None:
        return _google_data_plane(google)
    if _is_connection_error(error):
        return _unavailable(f"endpoint unreachable: {type(error).__name__}", hop="google")
    return _failure(500, "internal", "unexpected error; see the function's logs for this request_id")


def error_reply(error: BaseException, *, request_id: str) -> Reply:
    """The reply for anything an entrypoint raised, by the contract in the module docstring."""
    failure = describe(error)
    headers = {"Retry-After": str(failure.retry_after_s)} if failure.retry_after_s else {}
    return Reply(failure.status, _error(failure, request_id), headers)


# -- data planes ------------------------------------------------------------------------------


def _azure_data_plane(error: HttpResponseError) -> Failure:
    status = int(error.status_code or 0)
    code = str(getattr(error, "error_code", None) or error.reason or status)
    message = (error.message or "").splitlines()[0] if error.message else f"HTTP {status}"
    if is_unavailable(status):
        response: Any = error.response
        retry_after = response.headers.get("Retry-After") if response is not None else None
        return _unavailable(message, hop="azure.data", retry_after_s=_seconds(retry_after))
    return _refusal(status, code, message, hop="azure.data")


def _google_data_plane(error: Any) -> Failure:
    status = int(getattr(error, "code", 0) or 0)
    reasons = [e.get("reason") for e in getattr(error, "errors", []) or [] if isinstance(e, dict)]
    code = str(reasons[0] if reasons and reasons[0] else getattr(error, "reason", None) or status)
    message = str(getattr(error, "message", "") or error)
    if status == 0 or is_unavailable(status):
        return _unavailable(message, hop="google.data")
    return _refusal(status, code, message, hop="google.data")


def _refusal(status: int, code: str, message: str, *, hop: str) -> Failure:
    fix = DATA_PLANE_FIXES.get(code)
    if status in (401, 403, 404):
        return _failure(status, _STATUS_CODES[status], message, hop=hop, upstream_code=code, fix=fix)
    return _failure(502, "upstream_error", message, hop=hop, upstream_code=code, fix=fix)


_STATUS_CODES = {401: "upstream_unauthenticated", 403: "upstream_forbidden", 404: "not_found"}


def _unavailable(message: str, *, hop: str, retry_after_s: float | None = None) -> Failure:
    seconds = max(1, math.ceil(retry_after_s)) if retry_after_s else DEFAULT_RETRY_AFTER_S
    return _failure(503, "unavailable", message, hop=hop, retry_after_s=seconds)


def _failure(status: int, code: str, message: str, **extra: Any) -> Failure:
    """A :class:`Failure` with every text redacted."""
    cleaned: dict[str, Any] = {k: redact(v) if isinstance(v, str) else v for k, v in extra.items()}
    return Failure(status, code, redact(message), **cleaned)


def _google_api_error(error: BaseException) -> BaseException | None:
    """A ``google.api_core`` error (or the last error behind its ``RetryError``), if api_core is loaded."""
    exceptions = sys.modules.get("google.api_core.exceptions")
    if exceptions is None:
        return None
    if isinstance(error, exceptions.RetryError):
        cause: BaseException | None = error.cause
        return cause if isinstance(cause, exceptions.GoogleAPICallError) else _Timeout(str(error))
    return error if isinstance(error, exceptions.GoogleAPICallError) else None


class _Timeout(Exception):
    code = 504


def _is_connection_error(error: BaseException) -> bool:
    requests_exceptions = sys.modules.get("requests.exceptions")
    connection_errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    if requests_exceptions is not None:
        connection_errors += (requests_exceptions.ConnectionError, requests_exceptions.Timeout)
    return isinstance(error, connection_errors)


def _error(failure: Failure, request_id: str) -> dict[str, Any]:
    error: dict[str, Any] = {"status": failure.status, "code": failure.code, "message": failure.message}
    error.update(failure.fields())
    error["request_id"] = request_id
    return {"error": error}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _shown(value: str) -> str:
    """A caller's value, quoted and cut short, for an error message."""
    return repr(value[:64] + ("..." if len(value) > 64 else ""))
