"""Cold-start cost of each entrypoint: what importing it costs, what it defers to the first
request, and what it adds over importing the official SDKs the same job needs anyway.

Each figure is what ``python -X importtime`` reports for the imports in a fresh interpreter
(its own start-up imports excluded), the fastest of several runs: on a shared machine noise
only ever adds time, so the minimum is the cost. ``python -m bench.imports`` prints the table in docs/COLD_START.md; ``make bench``
records ``import_overhead_ms``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Entrypoint:
    folder: str
    module: str
    deferred: str  # imported on the first request
    sdks: str  # what any implementation of the same job imports: the baseline


ENTRYPOINTS = {
    "gcp_function": Entrypoint(
        "gcp_function",
        "main",
        "azure.storage.blob, shared.google_to_azure",
        "functions_framework, azure.storage.blob, azure.identity, google.auth.compute_engine, "
        "google.auth.transport.requests",
    ),
    "azure_function": Entrypoint(
        "azure_function",
        "function_app",
        "google.cloud.bigquery, shared.azure_to_google, azure.identity",  # azure.identity: built on first use
        "azure.functions, google.cloud.bigquery, azure.identity, google.auth.identity_pool, "
        "google.auth.transport.requests",
    ),
}


def import_ms(code: str, folder: str = ".") -> float:
    """Milliseconds a fresh interpreter spends importing in ``code``: the top-level entries of
    ``python -X importtime`` (the interpreter's own start-up imports excluded)."""
    baseline = _top_level(_importtime("pass", folder))
    total = 0.0
    for name, microseconds in _top_level(_importtime(code, folder)).items():
        if name not in baseline:
            total += microseconds
    return total / 1000


def _importtime(code: str, folder: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT / folder,
        env={"PYTHONPATH": str(ROOT), "FEDERATION_WARM_START": "0"},  # the imports alone, in this thread
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr


def _top_level(report: str) -> dict[str, float]:
    entries = {}
    for line in report.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                entries[parts[2].strip()] = float(parts[1])
            except ValueError:  # the header line
                continue
    return entries


def measure(runs: int = 15) -> dict[str, dict[str, float]]:
    """Per entrypoint: ``at_start_ms``, ``first_request_ms`` (deferred), ``sdks_ms`` and ``overhead_ms``.

    ``sdks_ms`` and ``overhead_ms`` come from one interpreter that imports the SDKs first and the
    entrypoint with what it defers second: whatever the second statement still has to import is
    what this project adds, timed beside the SDKs on the same process and moment, so load on the
    machine stretches both alike. Each is the fastest of ``runs``; the others are timed in turn,
    run after run, so drift on the machine meets all of them.
    """
    figures = {}
    for name, entry in ENTRYPOINTS.items():
        sdk_names = {part.strip() for part in entry.sdks.split(",")}
        fastest = {key: float("inf") for key in ("at_start", "everything", "sdks", "overhead")}
        for _ in range(runs):
            fastest["at_start"] = min(fastest["at_start"], import_ms(f"import {entry.module}", entry.folder))
            fastest["everything"] = min(
                fastest["everything"], import_ms(f"import {entry.module}, {entry.deferred}", entry.folder)
            )
            sdks, added = _split(
                f"import {entry.sdks}; import {entry.module}, {entry.deferred}", entry.folder, sdk_names
            )
            fastest["sdks"] = min(fastest["sdks"], sdks)
            fastest["overhead"] = min(fastest["overhead"], added)
        figures[name] = {
            "at_start_ms": fastest["at_start"],
            "first_request_ms": fastest["everything"] - fastest["at_start"],
            "sdks_ms": fastest["sdks"],
            "overhead_ms": fastest["overhead"],
        }
    return figures


def _split(code: str, folder: str, sdk_names: set[str]) -> tuple[float, float]:
    """(ms importing the SDKs, ms importing everything after them) in one interpreter running ``code``.

    ``-X importtime`` prints each import when it completes, so the SDK statement's top-level entries
    (parent packages such as ``azure`` and ``azure.storage`` included) all come before the last of
    the SDK modules themselves; everything after it is the second statement's.
    """
    baseline = _top_level(_importtime("pass", folder))
    entries = [(m, us) for m, us in _top_level(_importtime(code, folder)).items() if m not in baseline]
    last_sdk = max(i for i, (module, _us) in enumerate(entries) if module in sdk_names)
    sdks = sum(us for _m, us in entries[: last_sdk + 1])
    added = sum(us for _m, us in entries[last_sdk + 1 :])
    return sdks / 1000, added / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    print("| entrypoint | at instance start | + first request | the SDKs alone | added by this project |")
    print("|---|---:|---:|---:|---:|")
    for name, f in measure(args.runs).items():
        print(
            f"| `{name}` | {f['at_start_ms']:.0f} ms | +{f['first_request_ms']:.0f} ms | {f['sdks_ms']:.0f} ms "
            f"| {f['overhead_ms']:.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
