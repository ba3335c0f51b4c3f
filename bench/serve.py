"""One function, served for a throughput run, with its federation warm or with a static token.

``python -m bench.serve {cloud_function|function_app} {federated|static} --port P``. In
``static`` mode the function's client builder (its ``credential`` seam) gets a credential that hands
out one token fetched up front through the federation, so the two modes differ in the credential
only: same client, options, retries and code. Prints ``ready`` when serving.
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


def cloud_function(static: bool, port: int) -> Any:
    import functions_framework
    from werkzeug.serving import make_server

    from shared.azure_credential import StaticTokenCredential
    from shared.google_to_azure import GoogleFederatedCredential

    # The token first: once the function's module is loaded, its logs go to stdout, where only "ready" may be.
    token = GoogleFederatedCredential().get_token(STORAGE_SCOPE) if static else None
    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target="list_blobs", source=str(ROOT / "gcp_function" / "main.py")
    )
    if token is not None:
        # functions-framework loaded the source as module "main": build its client with the static token.
        sys.modules["main"].blob_service(credential=StaticTokenCredential(token.token, token.expires_on))
    return make_server("127.0.0.1", port, app, threaded=True)


def function_app(static: bool, port: int) -> Any:
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    from lab.hosting import functions_host
    from shared.azure_to_google import google_credentials

    static_credentials = None
    if static:  # the token first, before the function's module sets up its logging
        credentials = google_credentials()
        credentials.refresh(Request())
        static_credentials = Credentials(credentials.token, universe_domain=credentials.universe_domain)
    app_dir = ROOT / "azure_function"
    routes = functions_host.load_routes(app_dir)  # loads the app as module "function_app"
    if static_credentials is not None:
        sys.modules["function_app"].bigquery_client(credentials=static_credentials)
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
