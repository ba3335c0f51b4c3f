"""Benchmarks 5-6, whole functions: throughput over HTTP, and cold start."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench import imports
from bench.lab_process import LabProcess as Lab
from bench.report import Record, median
from bench.subjects import AZURE_TO_GCP, GCP_TO_AZURE, THIS_PROJECT
from lab.core import processes
from lab.hosting.functions import (
    FunctionProcess,
    cloud_function_settings,
    function_app_settings,
    process_env,
)

ROOT = Path(__file__).resolve().parent.parent
THROUGHPUT = "5. Function throughput"
COLD_START = "6. Cold start"
EXPLANATIONS = {
    THROUGHPUT: "Each function served over HTTP under a closed-loop load generator (8 connections, its own "
    "process) with its federation warm, and again with a static token in the same client: requests per "
    "second (best of the runs), the function process's CPU per request, and the throughput the federation "
    "costs. Both functions are bound by the lab's data services here; the CPU figure shows the federation's "
    "share of the function's own work.",
    COLD_START: "A new process of each function's host (functions-framework; the local Functions host): "
    "milliseconds to its first 200, token exchange included; and the milliseconds this project adds to "
    "importing the SDKs the same job needs anyway (`python -X importtime`, the fastest of 15 fresh interpreters).",
}
FUNCTIONS = {
    "cloud_function": (GCP_TO_AZURE, "/?max_results=10"),
    "function_app": (AZURE_TO_GCP, "/api/bigquery"),
}


def throughput(lab: Lab, *, seconds: float, rounds: int) -> list[Record]:
    records = []
    key = secrets.token_urlsafe(16)
    env = {
        "cloud_function": process_env(lab, cloud_function_settings(lab)),
        "function_app": process_env(lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=key),
    }
    for name, (direction, path) in FUNCTIONS.items():
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for _ in range(rounds):
            for mode in ("federated", "static"):  # interleaved: drift on a shared machine hits both
                rps, cpu_ms = _serve_and_load(name, mode, env[name], path, key, seconds)
                best[mode] = max(best.get(mode, 0.0), rps)
                cpu[mode] = min(cpu.get(mode, cpu_ms), cpu_ms)
        overhead = (best["static"] - best["federated"]) / best["static"] * 100
        for subject, mode in ((THIS_PROJECT, "federated"), ("static token", "static")):
            records += [
                Record(THROUGHPUT, direction, subject, "rps", round(best[mode], 1), "req/s"),
                Record(THROUGHPUT, direction, subject, "cpu_ms_per_request", round(cpu[mode], 2), "ms"),
            ]
        records.append(
            Record(THROUGHPUT, direction, THIS_PROJECT, "throughput_overhead_pct", round(overhead, 1), "%")
        )
    return records


def _serve_and_load(
    name: str, mode: str, env: dict[str, str], path: str, key: str, seconds: float
) -> tuple[float, float]:
    """Requests per second, and the server's CPU milliseconds per request."""
    port = processes.free_port()
    server = processes.spawn(
        [sys.executable, "-m", "bench.serve", name, mode, f"--port={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"bench.serve {name} {mode} did not start")
        url = f"http://127.0.0.1:{port}{path}"
        headers = {"x-functions-key": key}
        for _ in range(3):  # warm: the token, the client, the connection pools
            requests.get(url, headers=headers, timeout=30).raise_for_status()
        cpu_before = _cpu_seconds(server.pid)
        load = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "bench.load",
                url,
                f"--seconds={seconds}",
                "--concurrency=8",
                f"--header=x-functions-key: {key}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        cpu_used = _cpu_seconds(server.pid) - cpu_before
        result = json.loads(load.stdout)
        if result["errors"]:
            raise RuntimeError(f"{name} {mode}: {result['errors']} errors under load")
        return float(result["rps"]), cpu_used * 1000 / max(1, result["requests"])
    finally:
        processes.stop(server)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_start(lab: Lab, *, repeats: int) -> list[Record]:
    records = []
    key = secrets.token_urlsafe(16)
    for name, (direction, path) in FUNCTIONS.items():
        times = []
        for _ in range(repeats):
            settings = (
                cloud_function_settings(lab) if name == "cloud_function" else function_app_settings(lab)
            )
            env = process_env(lab, settings, LOCAL_FUNCTION_KEY=key)
            start = (
                FunctionProcess.cloud_function if name == "cloud_function" else FunctionProcess.function_app
            )
            function = start(env)
            started = time.perf_counter()
            function.start()
            try:
                times.append(
                    _first_200(function.url.rstrip("/") + path.removeprefix("/api/bigquery"), key, started)
                )
            finally:
                function.stop()
        records.append(
            Record(COLD_START, direction, THIS_PROJECT, "cold_start_ms", round(median(times)), "ms")
        )
    overheads = imports.measure(runs=5 if repeats < 3 else 15)
    for folder, figures in overheads.items():
        direction = GCP_TO_AZURE if folder == "gcp_function" else AZURE_TO_GCP
        records += [
            Record(
                COLD_START, direction, THIS_PROJECT, "import_at_start_ms", round(figures["at_start_ms"]), "ms"
            ),
            Record(
                COLD_START, direction, THIS_PROJECT, "import_overhead_ms", round(figures["overhead_ms"]), "ms"
            ),
        ]
    return records


def _first_200(url: str, key: str, started: float, timeout_s: float = 60) -> float:
    while time.perf_counter() - started < timeout_s:
        try:
            if requests.get(url, headers={"x-functions-key": key}, timeout=30).status_code == 200:
                return (time.perf_counter() - started) * 1000
        except requests.ConnectionError:
            time.sleep(0.01)
    raise TimeoutError(f"no 200 from {url} within {timeout_s}s")


def all_function_benchmarks(lab: Lab, *, quick: bool) -> list[Record]:
    return [
        *throughput(lab, seconds=2 if quick else 5, rounds=1 if quick else 2),
        *cold_start(lab, repeats=1 if quick else 3),
    ]
