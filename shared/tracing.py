"""Per-hop traces: one structured log record per hop, and an OpenTelemetry span when it is installed.

Every hop a credential makes (``azure.token``, ``entra.token``, ``gcp.sts``, ``gcp.iam``,
``gcp.metadata`` ...) runs inside :func:`hop`, which logs once at the end on the
``shared.tracing`` logger — INFO when it succeeded, WARNING when not — with ``json_fields``:
``hop``, ``endpoint`` (scheme, host and path; never a query string or a token), ``outcome``
(``ok``, ``refused``, ``unavailable``, ``error``), ``status``, ``duration_ms`` and
``correlation_id``. With ``opentelemetry-api`` installed (optional), each hop is also a span
``federation <hop>`` with the same attributes, under whatever span is current.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared.redaction import package_logger

_log = package_logger("shared.tracing")

try:  # optional dependency
    from opentelemetry import trace as _otel
except ImportError:  # pragma: no cover - exercised when opentelemetry-api is absent
    _otel = None  # type: ignore[assignment]


@dataclass
class HopRecord:
    """What a hop did; filled in while it runs (``status``, ``correlation_id``)."""

    hop: str
    endpoint: str
    status: int | None = None
    correlation_id: str | None = None
    outcome: str = "ok"
    attributes: dict[str, Any] = field(default_factory=dict)


def endpoint_of(url: str) -> str:
    """``https://host/path`` of a URL: no query string, no credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


@contextmanager
def hop(name: str, url: str = "") -> Iterator[HopRecord]:
    """Trace one hop: time it, log one record at the end, and open a span if OpenTelemetry is there."""
    record = HopRecord(name, endpoint_of(url) if url else "")
    started = time.perf_counter()
    with ExitStack() as stack:
        span = (
            stack.enter_context(_otel.get_tracer("shared").start_as_current_span(f"federation {name}"))
            if _otel
            else None
        )
        try:
            yield record
        except BaseException as exc:
            record.outcome = _outcome_of(exc)
            record.status = record.status or getattr(exc, "status", None)
            record.correlation_id = record.correlation_id or getattr(exc, "correlation_id", None)
            raise
        finally:
            _finish(record, span, (time.perf_counter() - started) * 1000)


def _finish(record: HopRecord, span: Any, duration_ms: float) -> None:
    fields = {
        "hop": record.hop,
        "endpoint": record.endpoint,
        "outcome": record.outcome,
        "status": record.status,
        "duration_ms": round(duration_ms, 1),
        "correlation_id": record.correlation_id,
        **record.attributes,
    }
    if span is not None:
        span.set_attributes(
            {f"federation.{key}": value for key, value in fields.items() if value is not None}
        )
        if record.outcome != "ok":
            span.set_status(_otel.Status(_otel.StatusCode.ERROR, record.outcome))
    level = logging.INFO if record.outcome == "ok" else logging.WARNING
    _log.log(
        level,
        "hop %s %s in %.1f ms",
        record.hop,
        record.outcome,
        fields["duration_ms"],
        extra={"json_fields": fields},
    )


def _outcome_of(exc: BaseException) -> str:
    from shared import errors

    if isinstance(exc, errors.UpstreamUnavailable):
        return "unavailable"
    if isinstance(exc, errors.FederationError):
        return "refused"
    return "error"
