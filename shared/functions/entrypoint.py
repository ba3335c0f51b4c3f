"""What both entrypoints do around their own work: one reply, log line and headers per request, and what
an instance builds once.

:func:`respond` runs a request's work, turns whatever it raised into the contract's JSON error
(:func:`shared.functions.http.error_reply`; an unexpected error is also logged with its traceback),
writes the request's one log line and adds the headers every reply carries. :class:`PerInstance`
holds the clients an instance builds on first use and every request reuses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from shared.functions.http import Reply, error_reply
from shared.functions.logs import log_request

T = TypeVar("T")


def respond(
    log: logging.Logger,
    work: Callable[[], Reply],
    *,
    method: str,
    path: str,
    request_id: str,
    extra: Mapping[str, Any] | None = None,
) -> Reply:
    """``work()``'s reply, or the error reply for what it raised, logged, with ``Cache-Control`` and
    ``X-Request-Id`` added to its headers."""
    started = time.perf_counter()
    try:
        reply = work()
    except Exception as exc:  # every failure becomes the contract's JSON error
        reply = error_reply(exc, request_id=request_id)
        if reply.error_code == "internal":
            log.exception(
                "unexpected %s",
                type(exc).__name__,
                extra={"json_fields": {"request_id": request_id}},
                stacklevel=2,
            )
    log_request(
        log,
        method=method,
        path=path,
        status=reply.status,
        latency_s=time.perf_counter() - started,
        request_id=request_id,
        error=reply.error,
        extra=extra,
        stacklevel=3,  # the entrypoint's line, not this one
    )
    headers = {"Cache-Control": "no-store", "X-Request-Id": request_id, **reply.headers}
    return Reply(reply.status, reply.body, headers)


class PerInstance(Generic[T]):
    """What an instance builds once, on first use, and every request reuses. Thread-safe."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self, build: Callable[[], T] | None = None) -> T:
        """The value, built on first use by ``build`` (default: the builder given at construction)."""
        with self._lock:
            if self._value is None:
                self._value = (build or self._build)()
            return self._value
