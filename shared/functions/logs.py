"""Structured, redacted logs for both hosts, and the request line each function writes.

Cloud Functions / Cloud Run parse a JSON object per stdout line: :func:`use_cloud_logging`
installs :class:`CloudLoggingFormatter`, which writes ``severity``, ``message``, the record's
``json_fields`` (the convention of google-cloud-logging's ``StructuredLogHandler``), the
trace and ``httpRequest``. Azure Functions forwards only a record's message to Application
Insights: :func:`use_azure_functions_logging` appends the same ``json_fields`` to the message
as JSON (query them with ``parse_json``). Both redact every string they write.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.redaction import RedactingFilter, redact

_SEVERITY = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL"}
_CLOUD_TRACE = re.compile(r"^(?P<trace>[0-9a-f]{32})(?:/(?P<span>\d+))?(?:;o=(?P<sampled>[01]))?$")
_TRACEPARENT = re.compile(
    r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line, in the shape Cloud Logging reads from stdout."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": redact(record.getMessage()),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            "logging.googleapis.com/sourceLocation": {
                "file": record.pathname,
                "line": str(record.lineno),
                "function": record.funcName,
            },
        }
        payload.update(_redacted(getattr(record, "json_fields", None) or {}))
        if record.exc_info and record.exc_info[1] is not None:
            payload["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(payload, default=str)


class InlineJsonFilter(logging.Filter):
    """Append a record's ``json_fields`` to its message as JSON, for hosts that keep only messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = getattr(record, "json_fields", None)
        if fields and not getattr(record, "_fields_inlined", False):
            record.msg = f"{redact(record.getMessage())} {json.dumps(_redacted(fields), default=str)}"
            record.args = None
            record._fields_inlined = True
        return True


def use_cloud_logging(level: int = logging.INFO) -> None:
    """Send the root logger's records to stdout as Cloud Logging JSON (once per process)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    quiet_sdk_loggers()


def use_azure_functions_logging(logger: logging.Logger) -> None:
    """Inline ``json_fields`` into ``logger``'s messages and redact them (the Azure host keeps messages only)."""
    if not any(isinstance(f, InlineJsonFilter) for f in logger.filters):
        logger.addFilter(InlineJsonFilter())
        logger.addFilter(RedactingFilter())
    quiet_sdk_loggers()


def quiet_sdk_loggers() -> None:
    """azure-core and azure-identity log every request's headers at INFO; keep their warnings only."""
    for name in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity"):
        logging.getLogger(name).setLevel(logging.WARNING)


def trace_fields(
    traceparent: str | None, cloud_trace_context: str | None, project: str | None = None
) -> dict[str, Any]:
    """Cloud Logging's trace fields from the ``traceparent`` or ``X-Cloud-Trace-Context`` header."""
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
    match = _TRACEPARENT.match(traceparent or "") or _CLOUD_TRACE.match(cloud_trace_context or "")
    if not match or not project:
        return {}
    fields: dict[str, Any] = {"logging.googleapis.com/trace": f"projects/{project}/traces/{match['trace']}"}
    if match["span"]:
        fields["logging.googleapis.com/spanId"] = match["span"]
    return fields


def log_request(
    logger: logging.Logger,
    *,
    method: str,
    path: str,
    status: int,
    latency_s: float,
    request_id: str,
    error: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    stacklevel: int = 2,
) -> None:
    """The one line each request writes: INFO when it succeeded, WARNING/ERROR (with the error) when not.

    ``stacklevel`` as for :meth:`logging.Logger.log`: the default names the caller's line.
    """
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    fields = {
        "httpRequest": {
            "requestMethod": method,
            "requestUrl": path,
            "status": status,
            "latency": f"{latency_s:.3f}s",
        },
        "request_id": request_id,
        **({"error": dict(error)} if error else {}),
        **(extra or {}),
    }
    logger.log(
        level, "%s %s -> %d", method, path, status, extra={"json_fields": fields}, stacklevel=stacklevel
    )


def _redacted(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _redact_value(value) for key, value in fields.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return _redacted(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value
