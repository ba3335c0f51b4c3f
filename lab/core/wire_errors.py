"""Error responses in each service's real wire shape."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from flask import Response


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


def entra(error: str, code: int, description: str, status: int = 400) -> Response:
    """Entra ID's token-endpoint error: AADSTS code in the description, ids and timestamp."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return _json(body, status)


def oauth(error: str, description: str, status: int = 400) -> Response:
    """Google STS: RFC 6749 ``{"error", "error_description"}``."""
    return _json({"error": error, "error_description": description}, status)


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_api(
    code: int,
    message: str,
    *,
    status: str | None = None,
    reason: str | None = None,
    details: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Google's JSON API error: ``{"error": {"code", "message", "status", ...}}``."""
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": status or _STATUS_NAMES.get(code, "UNKNOWN"),
    }
    if errors is not None:
        error["errors"] = errors
    elif reason:
        error["errors"] = [{"message": message, "domain": "global", "reason": reason}]
    if details:
        error["details"] = details
    return _json({"error": error}, code, headers)


def azure_msi(status: int, message: str) -> Response:
    """The App Service / IMDS managed-identity endpoints' error shape."""
    return _json({"error": "invalid_request", "error_description": message}, status)


def app_service_msi(refusal: Response) -> Response:
    """App Service's managed identity endpoint passes Entra's refusal on in its own shape:
    ``{"statusCode", "message", "correlationId"}`` (MSAL reads exactly these two fields)."""
    data = refusal.get_json(silent=True) or {}
    body = {
        "statusCode": refusal.status_code,
        "message": data.get("error_description", ""),
        "correlationId": data.get("correlation_id", str(uuid.uuid4())),
    }
    return _json(body, refusal.status_code)


def storage_fault(status: int, message: str) -> Response:
    """An injected fault as Azure Storage fails: it throttles with 503 ServerBusy, never 429."""
    if status in (429, 503):
        return storage(503, "ServerBusy", f"The server is busy. ({message})")
    return storage(status, "InternalError", f"The server encountered an internal error. ({message})")


def storage(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, *, detail: str = ""
) -> Response:
    """Azure Storage's XML error, with ``x-ms-error-code`` (and ``AuthenticationErrorDetail``)."""
    request_id = str(uuid.uuid4())
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    extra = f"<AuthenticationErrorDetail>{detail}</AuthenticationErrorDetail>" if detail else ""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}\nRequestId:{request_id}\nTime:{stamp}</Message>{extra}</Error>"
    )
    return Response(
        body,
        status=status,
        mimetype="application/xml",
        headers={"x-ms-error-code": code, "x-ms-request-id": request_id, **(headers or {})},
    )
