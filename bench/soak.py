"""Long life: thousands of token refreshes with requests flowing, and what the process holds after.

``python -m bench.soak --cycles 2000`` runs against a running lab (its environment exported,
plus ``SOAK_CLOUD_FUNCTION_SETTINGS`` and ``SOAK_FUNCTION_APP_SETTINGS``: each function's
settings as JSON). It shortens the lab's token lifetimes (``--lifetime-s``, default 2 s), builds
``--holders`` instances of each direction's client as the functions build them (a
``BlobServiceClient`` with :class:`shared.GoogleFederatedCredential`; a BigQuery client with
:func:`shared.google_credentials`), and keeps ``--threads`` threads making the functions' data
calls through them until the lab has answered ``--cycles`` token requests (Entra and STS: one
per refresh). It prints one JSON object: refresh cycles, requests, failures, and the process's
resident memory, threads, descriptors and sockets at rest after a warm-up and at rest at the end
(background refreshes joined, garbage collected).

Run in a process of its own, so the figures are this workload's alone: ``make bench`` records
them (``bench.functions``), and tests/test_soak.py runs a short one and asserts on the counts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from bench import procstat

REFRESH_HOPS = ("entra.token", "gcp.sts.token")
SOAK = "9. Long life"
EXPLANATIONS = {
    SOAK: "Token lifetimes shortened to 2 s in the lab, 8 clients per direction built as the functions build "
    "them (BlobServiceClient + GoogleFederatedCredential; BigQuery + google_credentials), 8 threads making the "
    "functions' data calls through them until Entra and STS have answered 2,000 token requests after a warm-up "
    "of 300, in a process of its own: the requests that failed, and the process's resident set (VmRSS), "
    "threads, descriptors and sockets at rest (background refreshes joined) before and after.",
}


def _admin(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.request(method, os.environ["LAB_ADMIN_URL"] + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _cycles() -> int:
    counts = _admin("GET", "/counters")
    return sum(int(counts.get(hop, 0)) for hop in REFRESH_HOPS)


def _clients(holders: int) -> tuple[list[Callable[[], object]], list[Any]]:
    """The data calls to make, and the credentials behind them (to join their refreshes).

    Called while the lab's tokens still last an hour: each Azure -> Google holder's managed
    identity token is fetched now, so it outlives the soak as a real one (24 h, refreshed by
    azure-identity 5 min before expiry) outlives the Google tokens made from it. Shortened, it
    would meet azure-identity's rule of at most one refresh attempt per 30 s and be handed out
    with a second of life left, and STS caps the federated token at the subject token's expiry.
    """
    from azure.storage.blob import BlobServiceClient
    from google.cloud import bigquery

    from shared import GoogleFederatedCredential, google_credentials
    from shared.azure_credential import azure_credential
    from shared.azure_to_google import scope_for
    from shared.functions.settings import CloudFunctionSettings, FunctionAppSettings

    cloud = CloudFunctionSettings.from_env(
        {**os.environ, **json.loads(os.environ["SOAK_CLOUD_FUNCTION_SETTINGS"])}
    )
    app = FunctionAppSettings.from_env({**os.environ, **json.loads(os.environ["SOAK_FUNCTION_APP_SETTINGS"])})
    calls: list[Callable[[], object]] = []
    credentials: list[Any] = []
    for _ in range(holders):
        credential = GoogleFederatedCredential(cloud.federation)
        container = BlobServiceClient(cloud.account_url, credential=credential).get_container_client(
            cloud.container or "reports"
        )
        calls.append(lambda c=container: next(c.list_blobs(results_per_page=5).by_page()))  # type: ignore[misc]
        managed_identity = azure_credential(app.federation)
        managed_identity.get_token(scope_for(app.federation.azure_audience))
        google = google_credentials(app.federation, azure_credential=managed_identity)
        client = bigquery.Client(
            project=app.project,
            credentials=google,
            location=app.location,
            client_options={"api_endpoint": app.api_endpoint} if app.api_endpoint else None,
        )
        calls.append(lambda c=client: list(c.query_and_wait("SELECT CURRENT_DATE() AS date", max_results=1)))  # type: ignore[misc]
        credentials += [credential, google]
    return calls, credentials


def _at_rest(credentials: list[Any]) -> dict[str, float]:
    for credential in credentials:
        holders = getattr(credential, "_holders", None)
        for holder in holders.values() if holders else [getattr(credential, "_holder", None)]:
            if holder is not None:
                holder.join_background(10)
    gc.collect()
    pid = os.getpid()
    return {
        "rss_mb": round(procstat.rss_mb(pid), 2),
        "threads": procstat.threads(pid),
        "descriptors": procstat.descriptors(pid),
        "sockets": procstat.sockets(pid),
    }


def run(cycles: int, holders: int, threads: int, lifetime_s: int, warmup_cycles: int) -> dict[str, Any]:
    calls, credentials = _clients(holders)
    _admin("POST", "/tokens", {"lifetime_s": lifetime_s})
    try:
        requests_made = failures = 0
        errors: list[str] = []
        lock = threading.Lock()

        def load(until_cycles: int) -> None:
            stop = threading.Event()

            def worker(offset: int) -> None:
                nonlocal requests_made, failures
                index = offset
                while not stop.is_set():
                    call = calls[index % len(calls)]
                    index += threads
                    try:
                        call()
                        ok = True
                    except Exception as error:  # counted and reported: the target is none
                        ok = False
                        with lock:
                            errors.append(f"{type(error).__name__}: {str(error)[:200]}")
                    with lock:
                        requests_made += 1
                        failures += not ok

            workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
            for thread in workers:
                thread.start()
            while _cycles() < until_cycles:
                time.sleep(0.2)
            stop.set()
            for thread in workers:
                thread.join(30)

        _admin("POST", "/counters/reset")
        started = time.monotonic()
        load(warmup_cycles)  # pools, caches and the allocator settle first
        before = _at_rest(credentials)
        counted_from = _cycles()
        load(counted_from + cycles)
        after = _at_rest(credentials)
        refreshed = _cycles() - counted_from
    finally:
        _admin("POST", "/tokens", {"lifetime_s": 3600})
    return {
        "refresh_cycles": refreshed,
        "requests": requests_made,
        "failures": failures,
        "errors": errors[:5],
        "seconds": round(time.monotonic() - started, 1),
        "start": before,
        "end": after,
        "rss_growth_mb": round(after["rss_mb"] - before["rss_mb"], 2),
    }


def records(result: dict[str, Any]) -> list[Any]:
    """The soak's figures as benchmark records."""
    from bench.report import Record

    start, end = result["start"], result["end"]
    figures = [
        ("soak_refresh_cycles", result["refresh_cycles"], "refreshes"),
        ("soak_requests", result["requests"], "requests"),
        ("soak_failures", result["failures"], "requests"),
        ("soak_seconds", result["seconds"], "s"),
        ("soak_rss_start_mb", start["rss_mb"], "MiB"),
        ("soak_rss_growth_mb", result["rss_growth_mb"], "MiB"),
        ("soak_threads_start", start["threads"], ""),
        ("soak_thread_growth", end["threads"] - start["threads"], ""),
        ("soak_descriptors_start", start["descriptors"], ""),
        ("soak_descriptor_growth", end["descriptors"] - start["descriptors"], ""),
        ("soak_sockets_start", start["sockets"], ""),
        ("soak_socket_growth", end["sockets"] - start["sockets"], ""),
    ]
    return [Record(SOAK, "both", "this project", metric, value, unit) for metric, value, unit in figures]


def spawn(
    lab_env: dict[str, str], cloud_function: dict[str, str], function_app: dict[str, str], *args: str
) -> Any:
    """Run ``python -m bench.soak *args`` in a new process against the lab; its JSON result."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {
        **{name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ},
        **lab_env,
        "PYTHONPATH": str(root),
        "SOAK_CLOUD_FUNCTION_SETTINGS": json.dumps(cloud_function),
        "SOAK_FUNCTION_APP_SETTINGS": json.dumps(function_app),
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.soak", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.soak exited {result.returncode}: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cycles", type=int, default=2000, help="token requests to Entra and STS (default 2000)"
    )
    parser.add_argument("--holders", type=int, default=8, help="clients per direction (default 8)")
    parser.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
    parser.add_argument("--lifetime-s", type=int, default=2, help="token lifetime in the lab (default 2 s)")
    parser.add_argument("--warmup-cycles", type=int, default=100)
    args = parser.parse_args(argv)
    result = run(args.cycles, args.holders, args.threads, args.lifetime_s, args.warmup_cycles)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
