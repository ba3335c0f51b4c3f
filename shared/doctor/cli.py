"""``federation`` (and ``python -m shared``): ``doctor`` checks a federation; ``token`` prints a token.

    federation doctor azure-to-google [--json]     # in the Azure Function's environment
    federation doctor google-to-azure [--json]     # in the Cloud Function's environment
    federation doctor google-to-azure --terraform-outputs outputs.json   # and check against infra/
    federation token azure-to-google [--scope S]   # a Google access token, for curl or bq
    federation token google-to-azure [--scope S]   # an Entra access token, for curl or az

For other tools (gcloud, bq, Terraform, the Azure CLI, Node/Go/Java SDKs): ``executable-source``,
``credential-file``, ``token-file`` and ``id-token`` (:mod:`shared.tools.cli`).

Settings come from the environment, exactly as the functions read them. ``doctor`` exits 1
when a hop fails; it prints claims, never a token. ``token`` prints one on purpose.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from typing import TextIO

from shared.doctor import checks as doctor
from shared.tools import cli as tools

DIRECTIONS = (doctor.AZURE_TO_GOOGLE, doctor.GOOGLE_TO_AZURE)


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    summary, examples, _ = __doc__.replace("``", "").split("\n\n", 2)  # plain text for a terminal
    parser = argparse.ArgumentParser(
        prog="federation",
        description=summary,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("doctor", help="check every hop, show the claims that matter, name the fix")
    check.add_argument("direction", choices=DIRECTIONS)
    check.add_argument("--json", action="store_true", help="one JSON object: the verdict of every hop")
    check.add_argument("--verbose", action="store_true", help="also log every hop's trace record to stderr")
    check.add_argument(
        "--terraform-outputs",
        type=argparse.FileType("r"),
        help="`terraform output -json` of infra/: also compare the claims with what Terraform provisioned",
    )
    check.add_argument(
        "--identity",
        choices=("app_registration", "user_assigned_identity"),
        help="what AZURE_CLIENT_ID names on the Google -> Azure side (default: Terraform's output, else an app)",
    )
    token = commands.add_parser(
        "token", help="print an access token through the federation (explicit opt-in)"
    )
    token.add_argument("direction", choices=DIRECTIONS)
    token.add_argument(
        "--scope", help="default: cloud-platform (Google) or https://storage.azure.com/.default"
    )
    tools.add_commands(commands)
    args = parser.parse_args(argv)
    _quiet_logs(verbose=getattr(args, "verbose", False))
    if args.command in tools.COMMANDS:
        return tools.run(args, out)
    if args.command == "doctor":
        expected = json.load(args.terraform_outputs) if args.terraform_outputs else None
        if args.identity:
            expected = {**(expected or {}), "google_to_azure_identity_kind": args.identity}
        return _doctor(args.direction, expected, as_json=args.json, out=out)
    try:
        return _token(args.direction, args.scope, out=out)
    except Exception as exc:  # one clear error, as doctor gives it: hop, what happened, the fix; exit 1
        _write_verdict(err, doctor.failed_verdict(exc, "settings"), label="token:")
        return 1


def _write_verdict(out: TextIO, verdict: doctor.Verdict, *, label: str, timed: bool = False) -> None:
    """One hop's verdict: ``<label> ok|FAIL <hop> <detail>``, then its claims, upstream code and fix."""
    mark = "ok  " if verdict.ok else "FAIL"
    out.write(
        f"{label} {mark} {verdict.hop:<13} {verdict.detail}"
        + (f"  ({verdict.ms:g} ms)" if timed else "")
        + "\n"
    )
    for name, shown in (
        ("", _claims(verdict.claims) if verdict.claims else ""),
        ("upstream: ", verdict.code),
        ("fix: ", verdict.fix),
    ):
        if shown:
            out.write(f"{'':<{len(label)}}      {'':<13} {name}{shown}\n")


def _quiet_logs(*, verbose: bool) -> None:
    """The verdicts say it all; the SDKs' own warnings would repeat it on stderr. ``--verbose``
    shows the per-hop trace records (``shared.tracing``) instead, as JSON lines."""
    root = logging.getLogger()
    if verbose:
        from shared.functions.logs import CloudLoggingFormatter

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(CloudLoggingFormatter())
        logging.getLogger("shared.tracing").addHandler(handler)
        logging.getLogger("shared.tracing").setLevel(logging.INFO)
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def _doctor(direction: str, expected: dict[str, object] | None, *, as_json: bool, out: TextIO) -> int:
    verdicts = doctor.run(direction, expected=expected)
    healthy = all(v.ok for v in verdicts)
    if as_json:
        out.write(
            json.dumps({"direction": direction, "ok": healthy, "hops": [v.as_dict() for v in verdicts]})
            + "\n"
        )
        return 0 if healthy else 1
    out.write(f"doctor: {direction}\n")
    for verdict in verdicts:
        _write_verdict(out, verdict, label=" ", timed=True)
    failed = [v.hop for v in verdicts if not v.ok]
    out.write(f"{'every hop is healthy' if healthy else 'failed at ' + ', '.join(failed)}\n")
    return 0 if healthy else 1


def _claims(claims: dict[str, object]) -> str:
    shown = dict(claims)
    if isinstance(shown.get("exp"), int | float):
        shown["exp"] = f"{shown['exp']} (in {int(float(shown['exp']) - time.time())} s)"  # type: ignore[arg-type]
    return " ".join(f"{name}={value}" for name, value in shown.items())


def _token(direction: str, scope: str | None, *, out: TextIO) -> int:
    if direction == doctor.AZURE_TO_GOOGLE:
        from google.auth.transport.requests import Request

        from shared.azure_to_google import google_credentials
        from shared.settings import AzureToGoogleSettings

        settings = AzureToGoogleSettings.from_env()
        if scope:
            settings = dataclasses.replace(settings, scopes=(scope,))
        credentials = google_credentials(settings)
        credentials.refresh(Request())
        out.write(f"{credentials.token}\n")
        return 0
    from shared.google_to_azure import GoogleFederatedCredential

    out.write(f"{GoogleFederatedCredential().get_token(scope or doctor.STORAGE_SCOPE).token}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
