"""The ``federation`` sub-commands for other tools (registered by :mod:`shared.doctor.cli`).

    federation executable-source [--azure-audience URI]       # run by Google's libraries, prints JSON
    federation credential-file creds.json [--service-account SA] [--output-file cache.json]
    federation token-file /var/run/federation/token [--once]  # keeps a Google ID token fresh
    federation id-token [--audience AUD]                      # prints a Google ID token (explicit)

Settings come from the environment, as for the library (:mod:`shared.settings`). Only
``executable-source`` (the protocol's response) and ``id-token`` print a token.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import warnings
from typing import Any, TextIO

from shared.errors import FederationError

COMMANDS = ("executable-source", "credential-file", "token-file", "id-token")


def add_commands(commands: Any) -> None:
    """Add the sub-commands to ``commands`` (argparse's sub-parsers action)."""
    source = commands.add_parser(
        "executable-source",
        help="print the Azure token as Google's executable-source response (run by Google's libraries)",
    )
    source.add_argument("--azure-audience", help="default AZURE_TOKEN_AUDIENCE")
    source.add_argument(
        "--azure-client-id", help="a user-assigned managed identity's client ID (AZURE_CLIENT_ID)"
    )
    source.add_argument(
        "--output-file",
        help="cache the response here (default GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE, set by the library)",
    )

    config = commands.add_parser(
        "credential-file",
        help="write an external_account credential file whose source is `federation executable-source`",
    )
    config.add_argument("path", help="where to write it (then GOOGLE_APPLICATION_CREDENTIALS=path)")
    config.add_argument("--provider", help="default GCP_WORKLOAD_IDENTITY_PROVIDER")
    config.add_argument("--azure-audience", help="default AZURE_TOKEN_AUDIENCE")
    config.add_argument("--azure-client-id", help="default AZURE_CLIENT_ID (a user-assigned identity)")
    account = config.add_mutually_exclusive_group()
    account.add_argument("--service-account", help="impersonate this account (default GCP_SERVICE_ACCOUNT)")
    account.add_argument(
        "--direct-access",
        action="store_true",
        help="no impersonation: the pool's principal is granted the roles",
    )
    config.add_argument("--output-file", help="the executable's response cache (shared by every process)")
    config.add_argument("--timeout-millis", type=int, default=30_000, help="5000-120000 (default 30000)")
    config.add_argument(
        "--command",
        dest="executable_command",
        help="the command the libraries run (default: this project's executable-source)",
    )

    keeper = commands.add_parser(
        "token-file",
        help="keep a fresh Google ID token in a file (AZURE_FEDERATED_TOKEN_FILE, ARM_OIDC_TOKEN_FILE_PATH)",
    )
    keeper.add_argument("path")
    keeper.add_argument(
        "--audience", help="default: the Azure cloud's token-exchange audience (api://AzureADTokenExchange)"
    )
    keeper.add_argument(
        "--once", action="store_true", help="renew once if due, then exit (cron, an init container)"
    )
    keeper.add_argument(
        "--renew-before",
        type=float,
        default=900.0,
        help="seconds before expiry (default 900; at most half its life)",
    )

    printer = commands.add_parser(
        "id-token", help="print a Google ID token for an audience (explicit opt-in)"
    )
    printer.add_argument("--audience", help="default: the Azure cloud's token-exchange audience")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the sub-command ``args.command``; returns the exit status."""
    handlers = {
        "executable-source": _executable_source,
        "credential-file": _credential_file,
        "token-file": _token_file,
        "id-token": _id_token,
    }
    try:
        return handlers[args.command](args, out)
    except FederationError as error:
        if args.command == "executable-source":
            raise  # handled there; never reached
        sys.stderr.write(f"federation {args.command}: {error}\n")
        return 1


def _executable_source(args: argparse.Namespace, out: TextIO) -> int:
    """Nothing but the response may reach stdout or stderr: Node's google-auth-library parses both
    together as the response (pluggable-auth-handler.js appends stderr to the output)."""
    from shared.tools import executable

    warnings.simplefilter("ignore")
    try:
        settings = executable.settings_for_executable(
            os.environ, azure_audience=args.azure_audience, azure_client_id=args.azure_client_id
        )
        output_file = args.output_file or os.environ.get(executable.OUTPUT_FILE_VARIABLE) or None
        response = executable.subject_token_response(settings, output_file=output_file)
    except Exception as error:  # every failure is the protocol's error response, never a traceback
        out.write(json.dumps(executable.failure_response(error)) + "\n")
        return 1
    out.write(json.dumps(response) + "\n")
    return 0


def _credential_file(args: argparse.Namespace, out: TextIO) -> int:
    from shared.settings import AzureToGoogleSettings
    from shared.tools import credential_file

    overrides: dict[str, Any] = {}
    for key, value in (
        ("provider", args.provider),
        ("azure_audience", args.azure_audience),
        ("azure_client_id", args.azure_client_id),
        ("service_account", args.service_account),
    ):
        if value:
            overrides[key] = value
    if args.direct_access:
        overrides["service_account"] = None
    settings = AzureToGoogleSettings.from_env(os.environ, **overrides)
    config = credential_file.credential_config(
        settings,
        command=args.executable_command,
        output_file=args.output_file,
        timeout_ms=args.timeout_millis,
    )
    credential_file.write_credential_file(args.path, config)
    account = settings.service_account or "none (direct resource access)"
    out.write(
        f"wrote {args.path}: provider {settings.provider}, service account {account}\n"
        f"  export GOOGLE_APPLICATION_CREDENTIALS={os.path.abspath(args.path)} "
        "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1\n"
    )
    return 0


def _token_file(args: argparse.Namespace, out: TextIO) -> int:
    from shared.tools import token_file

    settings = token_file.id_token_settings(os.environ)
    audience = args.audience or token_file.default_audience(settings, os.environ)
    keeper = token_file.TokenFileKeeper(args.path, settings, audience, renew_before_s=args.renew_before)
    if args.once:
        written = keeper.refresh_if_due()
        out.write(token_file.describe_written(keeper.path, written, keeper) + "\n")
        return 0
    written = keeper.refresh_if_due()  # a first failure is the operator's to see at once
    out.write(token_file.describe_written(keeper.path, written, keeper) + "\n")
    out.flush()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    keeper.run(stop)
    return 0


def _id_token(args: argparse.Namespace, out: TextIO) -> int:
    from shared.tools import token_file

    settings = token_file.id_token_settings(os.environ)
    audience = args.audience or token_file.default_audience(settings, os.environ)
    out.write(token_file.fetch_id_token(settings, audience) + "\n")
    return 0
