"""``make demo``: both functions, served as their hosts serve them, called over HTTP, against the lab.

The Cloud Function (functions-framework) lists Azure blobs with its Google identity; the
Function App (``function_app.py`` under the local host) queries BigQuery with its Azure
identity. Neither has a secret. For each call the demo prints the result and the hops the
lab served: endpoint, status, milliseconds and the claims that matter, never a token. Then
one deliberate misconfiguration and the error a caller gets. Everything it starts, it stops.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import Any

import requests

from lab.core import processes
from lab.core.runtime import Lab
from lab.core.trace import ServedHop
from lab.hosting.functions import FunctionProcess, cloud_function_settings, function_app_settings, process_env
from lab.scenarios.misconfigurations import MISCONFIGURATIONS

TIMEOUT_S = 30
# The mistake part 3 makes, from the catalogue (tests prove what a caller gets for it).
DELIBERATE_MISTAKE = next(case for case in MISCONFIGURATIONS if case.key == "fic-subject-email")


def main() -> int:
    processes.exit_on_sigterm()  # SIGTERM unwinds like Ctrl-C: the functions and the lab are stopped
    started = time.monotonic()
    with Lab() as lab:
        print(
            f"Lab ready in {time.monotonic() - started:.1f} s: every endpoint on 127.0.0.1, Blob Storage is Azurite."
        )
        key = secrets.token_urlsafe(24)
        blob_lister = FunctionProcess.cloud_function(process_env(lab, cloud_function_settings(lab)))
        # Started with the others, before part 3 makes its mistake: without the warm start it first asks
        # Entra when the request comes, as an instance started after the mistake would.
        misconfigured = FunctionProcess.cloud_function(
            process_env(lab, cloud_function_settings(lab), FEDERATION_WARM_START="0")
        )
        bigquery_app = FunctionProcess.function_app(
            process_env(lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=key)
        )
        functions = [blob_lister, misconfigured, bigquery_app]
        try:
            for function in functions:
                function.start()
            for function in functions:
                function.wait_ready()
            print(f"Functions serving after {time.monotonic() - started:.1f} s.")
            show_warm_start(lab)
            list_blobs(lab, blob_lister)
            query_bigquery(lab, bigquery_app, key)
            show_misconfiguration(lab, misconfigured)
        finally:
            with processes.uninterrupted():
                for function in functions:
                    function.stop()
    print(f"\nDone in {time.monotonic() - started:.1f} s; the functions, the lab and Azurite are stopped.")
    return 0


def show_warm_start(lab: Lab, quiet_s: float = 0.5, limit_s: float = 10.0) -> None:
    """The hops each new instance's warm start made before any request (shared/functions/warmup.py):
    the token exchanges, so that the first request finds a token. Waits until the lab has been quiet
    for ``quiet_s`` (at most ``limit_s``), so these hops are not shown under the first call."""
    seen, quiet_since, deadline = -1, time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() < deadline:
        count = len(lab.trace())
        if count != seen:
            seen, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            break
        time.sleep(0.05)
    print("   While they started, each instance's warm start got its token (before any request):")
    for record in lab.trace():
        print(f"       hop {hop_line(record)}")
    print()


def list_blobs(lab: Lab, function: FunctionProcess) -> None:
    print("1. Cloud Function -> Azure Blob Storage (Google ID token -> Entra federated credential)")
    body = call(lab, function.url, {"max_results": "10"})
    for blob in body["blobs"]:
        print(f"     {blob['name']:<28} {blob['size']:>4} B  {blob['content_type']}")
    print("   Again, paging two at a time: the instance reuses its Azure token, so one hop per call.")
    body = call(lab, function.url, {"max_results": "2"})
    names = [blob["name"] for blob in body["blobs"]]
    body = call(
        lab, function.url, {"max_results": "2", "page_token": body["next_page_token"]}, show_body=False
    )
    print(f"     page 1: {names}; page 2: {[blob['name'] for blob in body['blobs']]}\n")


def query_bigquery(lab: Lab, function: FunctionProcess, key: str) -> None:
    print("2. Azure Function -> BigQuery (managed identity -> Google STS -> service account impersonation)")
    headers = {"x-functions-key": key}
    body = call(
        lab, function.url, {"query": "top_names", "state": "TX", "year": "2021", "limit": "3"}, headers
    )
    for row in body["rows"]:
        print(f"     {row['name']:<10} {row['total']:>6}")
    body = call(lab, function.url, {}, headers, show_trace=False)
    print(f"   The default query, SELECT CURRENT_DATE(): {body['rows'][0]['date']}")
    status = requests.get(function.url, timeout=TIMEOUT_S).status_code
    print(f"   Without the function key: HTTP {status} (auth level FUNCTION).\n")


def show_misconfiguration(lab: Lab, function: FunctionProcess) -> None:
    print("3. A deliberate misconfiguration: the federated credential's subject is the service account's")
    print("   e-mail, where Entra compares the numeric unique ID (the mistake most write-ups make).")
    previous = lab.topology_now()
    DELIBERATE_MISTAKE.break_topology(lab)
    try:
        lab.controls.reset_counts()
        response = requests.get(function.url, timeout=TIMEOUT_S)
        error = response.json()["error"]
        print(f"   A fresh Cloud Function instance answers HTTP {response.status_code} {error['code']}:")
        print(f"     hop:     {error['hop']} ({error.get('upstream_code')})")
        print(f"     message: {error['message']}")
        print(f"     fix:     {error['fix']}")
    finally:
        lab.set_topology(previous)


def call(
    lab: Lab,
    url: str,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
    *,
    show_body: bool = True,
    show_trace: bool = True,
) -> dict[str, Any]:
    """GET the function, print the status, latency and the hops the lab served for it."""
    lab.controls.reset_counts()
    query = "&".join(f"{name}={value}" for name, value in params.items() if name != "page_token")
    started = time.perf_counter()
    response = requests.get(url, params=params, headers=headers, timeout=TIMEOUT_S)
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        raise SystemExit(
            f"unexpected HTTP {response.status_code} without a JSON body: {response.text[:300]!r}"
        ) from None
    if show_body:
        print(
            f"   GET {url}{'?' + query if query else ''} -> HTTP {response.status_code} in {elapsed_ms:.0f} ms"
        )
    if response.status_code != 200:
        raise SystemExit(f"unexpected HTTP {response.status_code}: {body}")
    if show_trace:
        for record in lab.trace():
            print(f"       hop {hop_line(record)}")
    return body


def hop_line(record: ServedHop) -> str:
    claims = dict(record.claims)
    if "exp" in claims:
        claims["exp"] = f"+{int(claims['exp'] - time.time())}s"
    shown = " ".join(f"{name}={value}" for name, value in claims.items())
    return f"{record.hop:<28} {record.status} {record.ms:>6.1f} ms  {record.token + ': ' if shown else ''}{shown}"


if __name__ == "__main__":
    sys.exit(main())
