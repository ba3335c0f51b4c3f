"""A small local host for an Azure Functions v2 ``function_app.py``, for where Core Tools are missing.

Serves the app's HTTP triggers as the Functions host does: under ``/<routePrefix>/<route>``
(``host.json``, default ``api``), with each trigger's methods, and with its auth level
enforced — a ``FUNCTION`` or ``ADMIN`` trigger needs the key in ``x-functions-key`` or
``?code=``, else 401 with an empty body. The key is ``LOCAL_FUNCTION_KEY`` (required). An
unhandled exception is a 500 with an empty body, as in Azure.

Standard library and ``azure-functions`` only, so it runs inside a deployable bundle's venv::

    LOCAL_FUNCTION_KEY=... python lab/hosting/functions_host.py build/azure_function --port 7071

With Azure Functions Core Tools, ``func start`` in the app folder does the same (keys aside).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import importlib.util
import inspect
import json
import logging
import os
import re
import sys
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

log = logging.getLogger("functions_host")
_DEFAULT_METHODS = (func.HttpMethod.GET, func.HttpMethod.POST)


@dataclass(frozen=True)
class Route:
    """One HTTP trigger: its URL pattern, methods, auth level and user function."""

    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    anonymous: bool
    function: Any
    request_arg: str
    context_arg: str | None


@dataclass(frozen=True)
class Context:
    """The ``func.Context`` the host hands a function that asks for one."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


def load_routes(app_dir: Path) -> list[Route]:
    """Import ``app_dir/function_app.py`` and describe its HTTP triggers."""
    sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", app_dir / "function_app.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no function_app.py in {app_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    app = next(v for v in vars(module).values() if isinstance(v, func.FunctionApp))
    prefix = _route_prefix(app_dir)
    routes = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if not isinstance(trigger, func.decorators.http.HttpTrigger):
            continue
        user = function.get_user_function()
        name = function.get_function_name() or user.__name__
        path = "/".join(part for part in (prefix, trigger.route or name) if part)
        context_arg = next(
            (
                name
                for name, p in inspect.signature(user).parameters.items()
                if p.annotation in (func.Context, "func.Context") or name == "context"
            ),
            None,
        )
        routes.append(
            Route(
                name=name,
                pattern=re.compile("^/" + re.sub(r"\{(\w+)(?::\w+)?\??\}", r"(?P<\1>[^/]+)", path) + "/?$"),
                methods=frozenset(
                    str(getattr(m, "value", m)).upper() for m in trigger.methods or _DEFAULT_METHODS
                ),
                anonymous=str(getattr(trigger.auth_level, "value", trigger.auth_level)).lower()
                == "anonymous",
                function=user,
                request_arg=trigger.name,
                context_arg=context_arg,
            )
        )
    return routes


def _route_prefix(app_dir: Path) -> str:
    try:
        host = json.loads((app_dir / "host.json").read_text())
    except (OSError, ValueError):
        return "api"
    prefix = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(prefix).strip("/")


def make_handler(routes: list[Route], key: str, app_dir: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            match = next(((r, m) for r in routes if (m := r.pattern.match(url.path))), None)
            if match is None:
                return self._send(404, b"", {})
            route, found = match
            if self.command not in route.methods:
                return self._send(405, b"", {"Allow": ", ".join(sorted(route.methods))})
            given = self.headers.get("x-functions-key") or query.get("code") or ""
            if not route.anonymous and not hmac.compare_digest(given.encode(), key.encode()):
                return self._send(401, b"", {})
            query.pop("code", None)
            length = int(self.headers.get("Content-Length") or 0)
            request = func.HttpRequest(
                self.command,
                f"http://{self.headers.get('Host', 'localhost')}{self.path}",
                headers=dict(self.headers.items()),
                params=query,
                route_params=found.groupdict(),
                body=self.rfile.read(length) if length else b"",
            )
            kwargs: dict[str, Any] = {route.request_arg: request}
            if route.context_arg:
                kwargs[route.context_arg] = Context(uuid.uuid4().hex, route.name, str(app_dir))
            try:
                response = route.function(**kwargs)
                if inspect.iscoroutine(response):
                    response = asyncio.run(response)
            except Exception:
                log.exception("function %s raised", route.name)
                return self._send(500, b"", {})
            headers = dict(response.headers)
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = f"{response.mimetype}; charset={response.charset}"
            self._send(response.status_code, response.get_body(), headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app_dir", type=Path, help="the folder with function_app.py and host.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    args = parser.parse_args(argv)
    key = os.environ.get("LOCAL_FUNCTION_KEY", "")
    if not key:
        parser.error("set LOCAL_FUNCTION_KEY: the key FUNCTION-level triggers require")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Run as a script, this file's folder (lab/) leads sys.path: keep it from shadowing the app's modules.
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    app_dir = args.app_dir.resolve()
    routes = load_routes(app_dir)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(routes, key, app_dir))
    for route in routes:
        log.info("%s: %s %s", route.name, sorted(route.methods), route.pattern.pattern)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
