"""Benchmarks 7-8, what a new instance costs: its first request, and its memory.

Each function runs as its host runs it (functions-framework under gunicorn; the local Functions
host), beside its plain-SDK twin (``bench/twins``) under the same host, against the same lab.
Starts alternate between the two subjects, so drift on a shared machine meets both.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import requests

from bench import load, procstat
from bench.lab_process import LabProcess as Lab
from bench.profiles import CLOUD_NAME, PROFILES
from bench.report import Record, median
from bench.subjects import AZURE_TO_GCP, GCP_TO_AZURE, THIS_PROJECT
from lab.hosting.functions import (
    FunctionProcess,
    cloud_function_settings,
    function_app_settings,
    process_env,
)

ROOT = Path(__file__).resolve().parent.parent
TWIN = "plain-SDK twin"
FIRST_REQUEST = "7. First request of a new instance"
MEMORY = "8. Memory"
EXPLANATIONS = {
    FIRST_REQUEST: "A new process of each function's host, then one request polled until it answers 200: "
    "milliseconds from process start to the first 200, imports and token exchange included; the median of "
    "the cold starts (count in the `starts` column), under each latency profile. The ratio is this project's "
    "median over the twin's, under the cloud-like profile.",
    MEMORY: "The instance's memory (PSS over the host's processes, MiB; for gunicorn the master and its forked "
    "worker, each shared page counted once) after its first request and after 1,000 more (8 connections), "
    "with no added latency; and this project's excess over the twin, the larger of the two.",
}
FUNCTIONS = {
    "cloud_function": (GCP_TO_AZURE, "/?max_results=10"),
    "function_app": (AZURE_TO_GCP, ""),
}


def _process(lab: Lab, name: str, subject: str, key: str) -> FunctionProcess:
    if name == "cloud_function":
        env = process_env(lab, cloud_function_settings(lab))
        source = ROOT / ("gcp_function" if subject == THIS_PROJECT else "bench/twins/gcp_function")
        return FunctionProcess.cloud_function(env, source=source)
    env = process_env(lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=key)
    app_dir = ROOT / ("azure_function" if subject == THIS_PROJECT else "bench/twins/azure_function")
    return FunctionProcess.function_app(env, app_dir=app_dir)


def first_request(lab: Lab, *, repeats: int) -> list[Record]:
    key = secrets.token_urlsafe(16)
    records = []
    for profile_name, profile in PROFILES.items():
        lab.set_latency(profile)
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(repeats):
            for name in FUNCTIONS:
                for subject in (THIS_PROJECT, TWIN):
                    function = _process(lab, name, subject, key)
                    started = time.perf_counter()
                    function.start()
                    try:
                        elapsed = _first_200(function.url + FUNCTIONS[name][1], key, started)
                    finally:
                        function.stop()
                    times.setdefault((name, subject), []).append(elapsed)
        for (name, subject), samples in times.items():
            direction = FUNCTIONS[name][0]
            records.append(
                Record(
                    FIRST_REQUEST,
                    direction,
                    subject,
                    f"first_200_ms ({profile_name})",
                    round(median(samples)),
                    "ms",
                )
            )
            if subject == THIS_PROJECT:
                twin = median(times[(name, TWIN)])
                records.append(
                    Record(
                        FIRST_REQUEST,
                        direction,
                        subject,
                        f"first_200_vs_twin ({profile_name})",
                        round(median(samples) / twin, 2),
                        "x",
                    )
                )
        if profile_name == CLOUD_NAME:
            records += [
                Record(FIRST_REQUEST, FUNCTIONS[n][0], s, "starts", len(v), "starts")
                for (n, s), v in times.items()
            ]
    lab.set_latency({})
    return records


def _first_200(url: str, key: str, started: float, timeout_s: float = 60) -> float:
    while time.perf_counter() - started < timeout_s:
        try:
            response = requests.get(url, headers={"x-functions-key": key}, timeout=30)
        except requests.ConnectionError:
            time.sleep(0.005)
            continue
        if response.status_code == 200:
            return (time.perf_counter() - started) * 1000
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    raise TimeoutError(f"no 200 from {url} within {timeout_s}s")


def memory(lab: Lab, *, requests_after: int) -> list[Record]:
    key = secrets.token_urlsafe(16)
    lab.set_latency({})
    records = []
    for name, (direction, path) in FUNCTIONS.items():
        figures: dict[str, tuple[float, float]] = {}
        for subject in (THIS_PROJECT, TWIN):
            with _process(lab, name, subject, key) as function:
                url = function.url + path
                requests.get(url, headers={"x-functions-key": key}, timeout=30).raise_for_status()
                pid = _pid(function)
                after_first = procstat.memory_mb(pid)
                load.spawn(url, key, f"--requests={requests_after}")
                figures[subject] = (after_first, procstat.memory_mb(pid))
            records += [
                Record(MEMORY, direction, subject, "memory_first_mb", round(figures[subject][0], 1), "MiB"),
                Record(
                    MEMORY,
                    direction,
                    subject,
                    f"memory_{requests_after}_mb",
                    round(figures[subject][1], 1),
                    "MiB",
                ),
            ]
        excess = max(figures[THIS_PROJECT][i] - figures[TWIN][i] for i in (0, 1))
        records.append(Record(MEMORY, direction, THIS_PROJECT, "memory_vs_twin_mb", round(excess, 1), "MiB"))
    return records


def _pid(function: FunctionProcess) -> int:
    process = function._process
    assert process is not None
    return process.pid


def all_instance_benchmarks(lab: Lab, *, quick: bool) -> list[Record]:
    return [
        *first_request(lab, repeats=2 if quick else 10),
        *memory(lab, requests_after=100 if quick else 1000),
    ]
