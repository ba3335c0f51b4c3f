"""One emulated endpoint: a Flask app on its own loopback port, where every request is a hop.

Before a route runs, the request is counted against its hop and the fault plan is applied:
added latency, then ``ok`` or a scripted failure (429/500/503 in the service's own error
shape, a TCP reset, or a hang that holds the connection past the client's timeout).
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from lab.core import trace
from lab.core.controls import Controls

FaultResponder = Callable[[int, str], Response]

logging.getLogger("werkzeug").setLevel(logging.CRITICAL)


class _QuietHandler(WSGIRequestHandler):
    """No access log; a connection the lab dropped on purpose is not an error."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def log_error(self, format: str, *args: Any) -> None:
        return

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, OSError, ssl.SSLError):
            return


class _Dropped(Exception):
    """Raised after the lab reset the client's connection."""


class Service:
    """A named emulator: ``route()`` registers handlers whose endpoint name is the hop."""

    def __init__(
        self, name: str, controls: Controls, fault_response: FaultResponder, *, instrumented: bool = True
    ) -> None:
        self.name = name
        self.controls = controls
        self.fault_response = fault_response
        self.app = Flask(f"lab.{name}")
        if instrumented:
            self.app.before_request(self._apply_faults)
            self.app.after_request(self._record)
        self.app.register_error_handler(_Dropped, lambda _exc: Response(status=499))
        self.app.register_error_handler(404, self._not_found)
        self.app.register_error_handler(405, self._not_found)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def route(
        self, rule: str, hop: str, **options: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a handler; ``hop`` is appended to the service name (``gcp.sts`` + ``token``)."""
        full = f"{self.name}.{hop}" if hop else self.name

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            self.app.add_url_rule(rule, endpoint=full, view_func=view, **options)
            return view

        return register

    # -- faults ---------------------------------------------------------------------------
    def _apply_faults(self) -> Response | None:
        g.lab_started = time.perf_counter()
        hop = request.endpoint or f"{self.name}.unrouted"
        self.controls.count(hop)
        latency, outcome, hang_s = self.controls.plan(hop)
        if latency and self.controls.stopping.wait(latency):
            outcome = "reset"
        if outcome == "ok":
            return None
        if outcome in ("429", "500", "503"):
            status = int(outcome)
            response = self.fault_response(status, f"injected fault {outcome} on {hop}")
            if status in (429, 503):
                response.headers.setdefault("Retry-After", "1")
            return response
        if outcome == "hang":
            self.controls.stopping.wait(hang_s)
        _reset_connection()
        raise _Dropped()

    def _record(self, response: Response) -> Response:
        started = g.get("lab_started", time.perf_counter())
        hop = request.endpoint or f"{self.name}.unrouted"
        self.controls.trace.add(trace.record(hop, request, response, started))
        return response

    def _not_found(self, exc: Exception) -> Response:
        return self.fault_response(
            404, f"{request.method} {request.path} is not served by the lab's {self.name}"
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, tls: ssl.SSLContext | None) -> None:
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, ssl_context=tls, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"lab-{self.name}", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        assert self._server is not None, "service not started"
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        assert self._server is not None, "service not started"
        scheme = "https" if self._server.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _reset_connection() -> None:
    """Abort the current connection with a TCP RST (SO_LINGER 0), as a crashed peer would."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        socket.close(sock.detach())
    except OSError:
        pass
