"""Benchmarks 1-4, token by token: warm path, cold exchange, herd at cold start, rollover."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import requests

from bench.lab_process import LabProcess as Lab
from bench.report import Record, median, percentile
from bench.subjects import (
    AZURE_IDENTITY,
    AZURE_TO_GCP,
    GCP_TO_AZURE,
    GOOGLE_AUTH,
    NAIVE,
    SUBJECTS,
    THIS_PROJECT,
    Subject,
    make,
)
from lab.hosting.functions import function_app_settings

WARM = "1. Warm path"
COLD = "2. Cold exchange"
HERD = "3. Herd at cold start"
ROLLOVER = "4. Rollover"
EXPLANATIONS = {
    WARM: "One token request while a valid token is cached, timed call by call on one thread: what every "
    "SDK call pays on the hot path (`before_request` for google-cloud clients, `get_token` for Azure clients).",
    COLD: "The first token of a new credential: its latency and how many requests it sent to the lab "
    "(median of 5 fresh credentials).",
    HERD: "64 threads ask a new credential for a token at the same instant: the most requests any one hop "
    "received, and the 99th-percentile wait of the callers.",
    ROLLOVER: "8 threads make requests (a token, then a call to the lab with it) steadily while the token "
    "crosses its refresh threshold, with lifetimes shortened so each subject's threshold falls a few seconds "
    "in: the p99 of the requests started in the 1.5 s around the crossing (the first request that got a new "
    "token) divided by the p99 of those before it; the median of three runs.",
}


def warm_path(lab: Lab, calls: int) -> list[Record]:
    records = []
    for direction, names in SUBJECTS.items():
        for name in names:
            subject = make(lab, direction, name)
            subject.request_token()
            count = 20 if name == NAIVE else calls
            samples = []
            for _ in range(count):
                started = time.perf_counter_ns()
                subject.request_token()
                samples.append((time.perf_counter_ns() - started) / 1000)
            records += [
                Record(WARM, direction, name, "warm_token_us_median", round(median(samples), 2), "µs"),
                Record(WARM, direction, name, "warm_token_us_p99", round(percentile(samples, 0.99), 2), "µs"),
            ]
    return records


def cold_exchange(lab: Lab, repeats: int = 5) -> list[Record]:
    records = []
    for direction, names in SUBJECTS.items():
        for name in names:
            latencies, trips = [], []
            for _ in range(repeats):
                lab.reset_counts()
                started = time.perf_counter()
                make(lab, direction, name).request_token()  # building it counts: some ask the server first
                latencies.append((time.perf_counter() - started) * 1000)
                trips.append(sum(lab.counts().values()))
            records += [
                Record(COLD, direction, name, "cold_ms", round(median(latencies), 1), "ms"),
                Record(COLD, direction, name, "cold_round_trips", max(trips), "requests"),
            ]
    return records


def herd(lab: Lab, callers: int = 64) -> list[Record]:
    records = []
    for direction, names in SUBJECTS.items():
        for name in names:
            lab.reset_counts()
            subject = make(lab, direction, name)
            waits = _concurrently(subject.request_token, callers)
            records += [
                Record(
                    HERD,
                    direction,
                    name,
                    "cold_concurrent_calls_per_hop",
                    max(lab.counts().values()),
                    "requests",
                ),
                Record(
                    HERD, direction, name, "cold_concurrent_p99_ms", round(percentile(waits, 0.99), 1), "ms"
                ),
            ]
    return records


def _concurrently(call: Callable[[], object], callers: int) -> list[float]:
    barrier = threading.Barrier(callers)
    waits: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        started = time.perf_counter()
        call()
        with lock:
            waits.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=one) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return waits


# Token lifetimes that put each subject's refresh threshold ROLL_AT_S (or, for azure-identity,
# whose refresh waits 30 s after the last request, 30 s) after the token was issued.
ROLL_AT_S = 6.0
ROLLOVER_CASES = {
    (AZURE_TO_GCP, THIS_PROJECT): (12, 6.0),  # refreshes at half the life of a short token
    (AZURE_TO_GCP, GOOGLE_AUTH): (231, 6.0),  # stale 3 min 45 s before expiry
    (GCP_TO_AZURE, THIS_PROJECT): (12, 6.0),
    (GCP_TO_AZURE, AZURE_IDENTITY): (331, 31.0),  # within 300 s of expiry, and 30 s since the last fetch
}


def _one_rollover(
    lab: Lab, direction: str, name: str, lifetime_s: int, roll_at: float, threads: int
) -> tuple[float, float, float]:
    """(p99 ratio, steady p99, rollover p99) of one run across one refresh."""
    lab.set_token_lifetime(lifetime_s)
    try:
        subject = make(lab, direction, name)
        first = subject.request_token()
        issued = time.monotonic()
        samples = _steady_load(lab, subject, threads, until=issued + roll_at + 3.0)
    finally:
        lab.set_token_lifetime(3600)
    # The crossing is when the first request got a new token: measured, not assumed.
    crossed = min((at for at, _ms, token in samples if token != first), default=issued + roll_at)
    steady = percentile([ms for at, ms, _token in samples if issued + 1.0 <= at < crossed - 1.0], 0.99)
    around = percentile([ms for at, ms, _token in samples if crossed - 0.75 <= at < crossed + 0.75], 0.99)
    return around / steady, steady, around


def rollover(lab: Lab, threads: int = 8, repeats: int = 3) -> list[Record]:
    records = []
    for (direction, name), (lifetime_s, roll_at) in ROLLOVER_CASES.items():
        runs = sorted(
            _one_rollover(lab, direction, name, lifetime_s, roll_at, threads) for _ in range(repeats)
        )
        ratio, steady, around = runs[len(runs) // 2]  # the median run: p99 on a shared machine is noisy
        records += [
            Record(ROLLOVER, direction, name, "rollover_p99_ratio", round(ratio, 2), "x"),
            Record(ROLLOVER, direction, name, "steady_p99_ms", round(steady, 1), "ms"),
            Record(ROLLOVER, direction, name, "rollover_p99_ms", round(around, 1), "ms"),
        ]
    return records


def _steady_load(lab: Lab, subject: Subject, threads: int, until: float) -> list[tuple[float, float, str]]:
    """Each thread: token, then one authenticated call to the lab; (start, milliseconds, token) per request."""
    url, headers = _data_call(lab, subject.direction)
    samples: list[tuple[float, float, str]] = []
    lock = threading.Lock()

    def worker() -> None:
        session = requests.Session()
        while (started := time.monotonic()) < until:
            token = subject.request_token()
            session.get(url, headers={**headers, "Authorization": f"Bearer {token}"}, timeout=30)
            with lock:
                samples.append((started, (time.monotonic() - started) * 1000, token))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for worker_thread in workers:
        worker_thread.start()
    for worker_thread in workers:
        worker_thread.join()
    return samples


def _data_call(lab: Lab, direction: str) -> tuple[str, dict[str, str]]:
    if direction == GCP_TO_AZURE:
        return f"{lab.blob_account_url}/reports?restype=container", {"x-ms-version": "2025-01-05"}
    project = function_app_settings(lab)["BIGQUERY_PROJECT"]
    return f"{lab.url('gcp.bigquery')}/bigquery/v2/projects/{project}/jobs/no-such-job?location=US", {}


def all_token_benchmarks(lab: Lab, *, quick: bool) -> list[Record]:
    assert os.environ.get("GOOGLE_CLOUD_UNIVERSE_DOMAIN"), "the lab's environment is not loaded"
    return [
        *warm_path(lab, calls=2000 if quick else 20000),
        *cold_exchange(lab, repeats=2 if quick else 5),
        *herd(lab),
        *rollover(lab, repeats=1 if quick else 3),
    ]
