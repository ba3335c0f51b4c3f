"""Benchmark records, the targets they are held to, and the two files ``make bench`` writes."""

from __future__ import annotations

import json
import math
import platform
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.profiles import CLOUD, CLOUD_SOURCES, FLAT


@dataclass(frozen=True)
class Record:
    """One figure: ``{"benchmark", "direction", "subject", "metric", "value", "unit"}``."""

    benchmark: str
    direction: str
    subject: str
    metric: str
    value: float
    unit: str


@dataclass(frozen=True)
class Target:
    metric: str
    rule: str  # "== 2", "<= 5" ...
    direction: str | None = None
    also_below_official: bool = False

    def met(self, records: Sequence[Record]) -> tuple[bool, str]:
        ours = [r for r in records if r.metric == self.metric and r.subject == "this project"]
        ours = [r for r in ours if self.direction is None or r.direction == self.direction]
        if not ours:
            return False, "not measured"
        operator, bound = self.rule.split()
        ok = all(_compare(r.value, operator, float(bound)) for r in ours)
        if self.also_below_official:
            for mine in ours:
                official = [
                    r.value
                    for r in records
                    if r.metric == self.metric
                    and r.direction == mine.direction
                    and r.subject in ("google-auth", "azure-identity")
                ]
                ok = ok and all(mine.value < value for value in official)
        shown = ", ".join(f"{r.direction} {r.value:g}" for r in ours)
        return ok, shown


def _compare(value: float, operator: str, bound: float) -> bool:
    return {"==": value == bound, "<=": value <= bound, "<": value < bound, ">=": value >= bound}[operator]


TARGETS = (
    Target("cold_round_trips", "== 2", "gcp_to_azure"),
    Target("cold_round_trips", "== 3", "azure_to_gcp"),  # with impersonation; 2 without
    Target("cold_concurrent_calls_per_hop", "== 1"),
    Target("warm_token_us_median", "<= 5", also_below_official=True),
    Target("rollover_p99_ratio", "<= 1.2"),
    Target("throughput_overhead_pct", "<= 5"),
    Target("import_overhead_ratio", "<= 0.1"),
    Target("first_200_vs_twin (cloud-like)", "<= 0.8"),
    Target("memory_vs_twin_mb", "<= 5"),
    Target("soak_refresh_cycles", ">= 2000"),
    Target("soak_failures", "== 0"),
    Target("soak_thread_growth", "== 0"),
    Target("soak_descriptor_growth", "== 0"),
    Target("soak_socket_growth", "== 0"),
    Target("soak_rss_growth_mb", "<= 2"),
)


# What a missed target means: shown under the targets table when that target is missed.
WHEN_MISSED = {
    "first_200_vs_twin (cloud-like)": "the warm start overlaps the token exchange's round trips (about 130 ms "
    "Google -> Azure, 280 ms Azure -> Google under the cloud-like profile) with the SDK imports, and that is "
    "all it can buy: timed phase by phase, the Function App's warm start ends about 470 ms after its module "
    "loads (the federation's own imports, ~150 ms, before the exchange can start, then the exchange, slowed "
    "by the client thread's imports competing for the GIL), and the first query still pays its first TLS "
    "connection to BigQuery (~100 ms over the lab's 300 ms), as the twin does. The gain is real but the same "
    "CPU work is only moved between threads of one interpreter. Under heavier load the figure is met (0.77 and "
    "0.74 in this day's first full run), at lower load not. What would close it: fewer imports before the "
    "first exchange can go out (it needs azure-identity's and google-auth's clients; a lighter first-exchange "
    "path), and a data connection opened during the warm start once the lab keeps connections alive (issue 16).",
    "rollover_p99_ratio": "a p99 over 1.5 s windows with 8 threads on a shared machine: 1.11, 1.36 and 1.22 in "
    "this day's three full runs (0.98 before). The refresh now starts up to 10 % of the token's life earlier "
    "(jitter; 1.2 s of this benchmark's 12 s tokens) and still never blocks a caller; not investigated "
    "further: rerun on a quiet machine.",
    "throughput_overhead_pct": "requests per second of two runs on a shared machine: the figure moves by more "
    "than the target under load (it has come out negative); the CPU per request beside it is the steadier "
    "measure of what the federation costs.",
}


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0.99 for p99) by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def write(
    records: Sequence[Record],
    out: Path,
    *,
    latency_ms: float,
    explanations: dict[str, str],
    seconds: float,
    load: tuple[str, str] = ("?", "?"),
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps([asdict(r) for r in records], indent=1) + "\n")
    (out / "BENCHMARKS.md").write_text(
        markdown(records, latency_ms=latency_ms, explanations=explanations, seconds=seconds, load=load)
    )


def markdown(
    records: Sequence[Record],
    *,
    latency_ms: float,
    explanations: dict[str, str],
    seconds: float,
    load: tuple[str, str] = ("?", "?"),
) -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in (
            "google-auth",
            "azure-identity",
            "azure-core",
            "msal",
            "google-cloud-bigquery",
            "azure-storage-blob",
        )
    )
    lines = [
        "# Benchmarks: this project against the official libraries",
        "",
        "Written by `make bench` (`python -m bench`) against the offline lab. Sections 1-5 add",
        f"**{latency_ms:g} ms of latency on every hop**, so round trips show; section 7 runs under two profiles,",
        "a **cloud-like** one (per hop, below) and the flat one; sections 8-9 add none. One run, one machine:",
        "absolute times on shared machines are noise; compare ratios and counts within a table.",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; the run took {seconds:.0f} s",
        f"- Machine: {platform.machine()}, {_cpus()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- Load average (1, 5, 15 min) at the start: {load[0]}; at the end: {load[1]} — the machine is shared with",
        "  other work, so every figure here carries that noise; medians and interleaved runs are used against it",
        f"- Versions: {versions}",
        "- Connections: the lab answers every request with `Connection: close` (its keep-alive work is a separate",
        "  issue, not merged when these figures were taken), so every request here opens a new connection, as",
        "  every first request of a new instance does in the clouds anyway",
        "",
        "Subjects: **this project** (`shared/`); **google-auth** (`identity_pool.Credentials` with a subject-token",
        "supplier backed by azure-identity, as google-auth's docs show); **azure-identity** (`ClientAssertionCredential`",
        "whose callback fetches a metadata-server ID token, as Microsoft's docs show); **naive** (a new official",
        "credential, so a full exchange, per request); **plain-SDK twin** (`bench/twins/`: each function rewritten",
        "with those official credentials and nothing else, same entrypoint, same data call, same host).",
        "",
        "## Latency profiles",
        "",
        "| hop | cloud-like | flat | why |",
        "| --- | ---: | ---: | --- |",
        *(
            f"| `{hop}` | {seconds_ * 1000:g} ms | {FLAT['*'] * 1000:g} ms | {CLOUD_SOURCES[hop]} |"
            for hop, seconds_ in CLOUD.items()
        ),
        "",
        "## Targets",
        "",
        "| metric | target | this project | met |",
        "| --- | --- | --- | --- |",
    ]
    missed = []
    for target in TARGETS:
        ok, shown = target.met(records)
        scope = f" ({target.direction})" if target.direction else ""
        extra = ", and below both official libraries" if target.also_below_official else ""
        lines.append(
            f"| `{target.metric}`{scope} | {target.rule}{extra} | {shown} | {'yes' if ok else '**no**'} |"
        )
        if not ok and target.metric in WHEN_MISSED and target.metric not in missed:
            missed.append(target.metric)
    if missed:
        lines += ["", "Missed, why, and what would close it:", ""]
        lines += [f"- `{metric}`: {WHEN_MISSED[metric]}" for metric in missed]
    for benchmark in dict.fromkeys(r.benchmark for r in records):
        lines += ["", f"## {benchmark}", "", explanations.get(benchmark, ""), ""]
        rows = [r for r in records if r.benchmark == benchmark]
        metrics = list(dict.fromkeys(r.metric for r in rows))
        lines.append("| direction | subject | " + " | ".join(f"`{m}`" for m in metrics) + " |")
        lines.append("| --- | --- |" + " ---: |" * len(metrics))
        for direction, subject in dict.fromkeys((r.direction, r.subject) for r in rows):
            cells = []
            for metric in metrics:
                found = [
                    r for r in rows if (r.direction, r.subject, r.metric) == (direction, subject, metric)
                ]
                cells.append(f"{found[0].value:g} {found[0].unit}" if found else "—")
            lines.append(f"| {direction} | {subject} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
