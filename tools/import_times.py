"""Cold-start cost of each entrypoint: what importing it costs, and what it defers to the first request.

Each figure is the median of fresh interpreters (``python -c``), minus a bare interpreter's
start, so it is the import alone. Run with ``make import-times``; the figures go in docs/COLD_START.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEASURED = {
    "gcp_function/main.py (at instance start)": ("gcp_function", "import main"),
    "  deferred to the first request: azure.storage.blob + shared.google_to_azure": (
        "gcp_function",
        "import main, azure.storage.blob, shared.google_to_azure",
    ),
    "azure_function/function_app.py (at instance start)": ("azure_function", "import function_app"),
    "  deferred to the first request: google.cloud.bigquery + shared.azure_to_google": (
        "azure_function",
        "import function_app, google.cloud.bigquery, shared.azure_to_google",
    ),
}


def seconds(code: str, folder: str) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT / folder, check=True, env={"PYTHONPATH": str(ROOT)}
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    bare = statistics.median(seconds("pass", ".") for _ in range(args.runs))
    print(f"| import | ms (median of {args.runs}, interpreter start of {bare * 1000:.0f} ms subtracted) |")
    print("|---|---:|")
    base: float | None = None
    for label, (folder, code) in MEASURED.items():
        total = statistics.median(seconds(code, folder) for _ in range(args.runs)) - bare
        if label.startswith("  ") and base is not None:
            print(f"| {label.strip()} | +{(total - base) * 1000:.0f} |")
        else:
            base = total
            print(f"| {label} | {total * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
