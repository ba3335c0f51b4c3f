"""Benchmarks 5-6, whole functions: throughput over HTTP, and what importing them costs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import requests

from bench import imports, load
from bench.lab_process import LabProcess as Lab
from bench.report import Record
from bench.subjects import AZURE_TO_GCP, GCP_TO_AZURE, THIS_PROJECT
from lab.core import processes
from lab.hosting.functions import (
    cloud_function_settings,
    function_app_settings,
    process_env,
)

ROOT = Path(__file__).resolve().parent.parent
THROUGHPUT = "5. Function throughput"
IMPORTS = "6. Import overhead"
EXPLANATIONS = {
    THROUGHPUT: "Each function served over HTTP under a closed-loop load generator (8 connections, its own "
    "process) with its federation warm, and again with a static token in the same client: requests per "
    "second (best of the runs), the function process's CPU per request, and the throughput the federation "
    "costs. Both functions are bound by the lab's data services here; the CPU figure shows the federation's "
    "share of the function's own work.",
    IMPORTS: "What importing each entrypoint costs at instance start, the SDK imports the same job needs "
    "anyway (functions host, data SDK, azure-identity, google-auth), and what this project adds to those: in ms "
    "and as a ratio to the SDK imports (`python -X importtime`, the fastest of 5 fresh interpreters each).",
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
        for line in server.stdout:  # the function's own log lines may come first
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError(f"bench.serve {name} {mode} did not start")
        threading.Thread(target=server.stdout.read, daemon=True).start()  # keep its pipe from filling
        url = f"http://127.0.0.1:{port}{path}"
        headers = {"x-functions-key": key}
        for _ in range(3):  # warm: the token, the client, the connection pools
            requests.get(url, headers=headers, timeout=30).raise_for_status()
        cpu_before = _cpu_seconds(server.pid)
        result = load.spawn(url, key, f"--seconds={seconds}")
        cpu_used = _cpu_seconds(server.pid) - cpu_before
        return float(result["rps"]), cpu_used * 1000 / max(1, result["requests"])
    finally:
        processes.stop(server)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_overhead(*, runs: int) -> list[Record]:
    """What importing each entrypoint costs at start, and what this project adds to the SDK imports
    the same job needs anyway: in ms, and as a ratio to those imports (the ms figure moves with the
    machine's load; the ratio much less)."""
    records = []
    for folder, figures in imports.measure(runs=runs).items():
        direction = GCP_TO_AZURE if folder == "gcp_function" else AZURE_TO_GCP
        records += [
            Record(
                IMPORTS, direction, THIS_PROJECT, "import_at_start_ms", round(figures["at_start_ms"]), "ms"
            ),
            Record(IMPORTS, direction, THIS_PROJECT, "sdk_imports_ms", round(figures["sdks_ms"]), "ms"),
            Record(
                IMPORTS, direction, THIS_PROJECT, "import_overhead_ms", round(figures["overhead_ms"]), "ms"
            ),
            Record(
                IMPORTS,
                direction,
                THIS_PROJECT,
                "import_overhead_ratio",
                round(figures["overhead_ms"] / figures["sdks_ms"], 3),
                "x",
            ),
        ]
    return records


def all_function_benchmarks(lab: Lab, *, quick: bool) -> list[Record]:
    return [
        *throughput(lab, seconds=2 if quick else 5, rounds=1 if quick else 2),
        *import_overhead(runs=3 if quick else 5),
    ]
