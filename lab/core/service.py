"""One emulated endpoint: a Flask app on its own loopback port, where every request is a hop.

Served by cheroot, a threaded HTTP/1.1 server that keeps connections alive as the real services
do (RFC 9112 section 9.3): werkzeug's development server answers ``Connection: close`` to every
request, which hid connection reuse from the SDKs and the benchmarks.

Before a route runs, the request is counted against its hop and the fault plan is applied:
added latency, then ``ok`` or a scripted failure (429/500/503 in the service's own error
shape, a TCP reset, or a hang that holds the connection past the client's timeout).
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from flask import Flask, Response, g, request

from lab.core import trace
from lab.core.controls import Controls

FaultResponder = Callable[[int, str], Response]

logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
SOCKET = "lab.socket"  # the connection's socket in the WSGI environ, for the reset fault
WORKER_THREADS = 128  # requests served at once per service: hang faults each hold one for seconds
IDLE_TIMEOUT_S = 30  # how long an idle kept-alive connection stays open
# cheroot listens with a backlog of 5: bursts of new connections (clients reconnect after every
# reset or hang fault) overflowed it and waited out SYN retransmits. werkzeug's was 128.
LISTEN_BACKLOG = 1024


class _ContextAdapter(BuiltinSSLAdapter):
    """cheroot's TLS adapter around the lab's own SSLContext (cheroot's loads files)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.certificate = self.private_key = self.certificate_chain = None
        self.ciphers = self.private_key_password = None
        self._server_env: dict[str, Any] = {}
        self.context = context


class _Gateway(wsgi.Gateway_10):
    """The WSGI gateway, plus the connection's socket (a reset fault aborts it)."""

    def get_environ(self) -> Any:
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        environ[SOCKET] = self.req.conn.socket
        return environ


class _Server(wsgi.Server):
    """No error log: a connection the lab (or a client) dropped on purpose is not an error."""

    def __init__(self, app: Flask) -> None:
        super().__init__(
            ("127.0.0.1", 0),
            app,
            numthreads=WORKER_THREADS,
            timeout=IDLE_TIMEOUT_S,
            shutdown_timeout=5,
            request_queue_size=LISTEN_BACKLOG,
        )
        self.gateway = _Gateway

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
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
        self._server: _Server | None = None
        self._on_stop: list[Callable[[], None]] = []
        self._tls = False
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

    @property
    def hops(self) -> frozenset[str]:
        """The hop names this service serves (its routes' endpoint names)."""
        return frozenset(rule.endpoint for rule in self.app.url_map.iter_rules() if rule.endpoint != "static")

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
        server = _Server(self.app)
        if tls is not None:
            server.ssl_adapter = _ContextAdapter(tls)
            self._tls = True
        server.prepare()  # binds and listens: the port is known from here on
        self._server = server
        self._thread = threading.Thread(target=server.serve, name=f"lab-{self.name}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        assert self._server is not None, "service not started"
        return int(self._server.bind_addr[1])

    @property
    def url(self) -> str:
        assert self._server is not None, "service not started"
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the server has stopped (release what the routes held)."""
        self._on_stop.append(callback)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # closes the listener and every kept-alive connection
        if self._thread is not None:
            self._thread.join(timeout=5)
        while self._on_stop:
            self._on_stop.pop()()


def _reset_connection() -> None:
    """Abort the current connection with a TCP RST, as a crashed peer would.

    SO_LINGER 0, then the connection's descriptor is pointed (``dup2``) at one end of a socket
    pair whose other end is closed: the connection's last reference goes and the kernel sends
    RST, while the server sees a peer that hung up (reads end, writes fail) on a descriptor that
    stays valid, and closes it.
    """
    sock = request.environ.get(SOCKET)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        hung_up, peer = socket.socketpair()
        peer.close()
        with hung_up:
            os.dup2(hung_up.fileno(), sock.fileno())
    except OSError:
        pass
