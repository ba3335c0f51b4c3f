"""One function, served for a throughput run, with its federation warm or with a static token.

``python -m bench.serve {cloud_function|function_app} {federated|static} --port P``. In
``static`` mode the function's builder gets a credential that hands out one token fetched up
front through the federation, so the two modes differ in the credential only: same client,
options, retries and code. Prints ``ready`` when serving.
"""

from __future__ import annotations

import argparse
import os
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STORAGE_SCOPE = "https://storage.azure.com/.default"


class StaticAzureToken:
    """A TokenCredential that returns one token (fetched before the run)."""

    def __init__(self, token: Any) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._token


def cloud_function(static: bool, port: int) -> Any:
    import functions_framework
    from werkzeug.serving import make_server

    import shared.google_to_azure as federation

    if static:
        token = federation.GoogleFederatedCredential().get_token(STORAGE_SCOPE)
        federation.GoogleFederatedCredential = lambda *args, **kwargs: StaticAzureToken(token)  # type: ignore[assignment,misc]
    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target="list_blobs", source=str(ROOT / "gcp_function" / "main.py")
    )
    return make_server("127.0.0.1", port, app, threaded=True)


def function_app(static: bool, port: int) -> Any:
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    import shared.azure_to_google as federation
    from lab.hosting import functions_host

    if static:
        credentials = federation.google_credentials()
        credentials.refresh(Request())
        token, universe = credentials.token, credentials.universe_domain
        federation.google_credentials = lambda *args, **kwargs: Credentials(token, universe_domain=universe)  # type: ignore[assignment]
    app_dir = ROOT / "azure_function"
    routes = functions_host.load_routes(app_dir)
    return ThreadingHTTPServer(
        ("127.0.0.1", port), functions_host.make_handler(routes, os.environ["LOCAL_FUNCTION_KEY"], app_dir)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", choices=["cloud_function", "function_app"])
    parser.add_argument("mode", choices=["federated", "static"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    build = cloud_function if args.function == "cloud_function" else function_app
    server = build(args.mode == "static", args.port)
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
