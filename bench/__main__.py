"""``make bench``: this project against the official libraries, against the lab, in one run.

Writes docs/BENCHMARKS.md and docs/benchmarks.json. Benchmarks are not tests: nothing here
asserts; BENCHMARKS.md says which targets are met.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from bench.lab_process import LabProcess

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="added to every hop of the lab (default 20)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs", help="where to write the two files (default docs/)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples: a smoke run, not figures to publish"
    )
    parser.add_argument(
        "--only", choices=["tokens", "functions"], help="run one half (default both)", default=None
    )
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the SDKs' retry warnings are expected under load; figures only

    started = time.monotonic()
    with LabProcess(args.latency_ms) as lab:
        os.environ.update(lab.env())  # before google-auth is imported: it reads GCE_METADATA_HOST then
        from bench import functions, tokens

        records = []
        explanations = {}
        if args.only in (None, "tokens"):
            print("token benchmarks ...", flush=True)
            records += tokens.all_token_benchmarks(lab, quick=args.quick)
            explanations.update(tokens.EXPLANATIONS)
        if args.only in (None, "functions"):
            print("function benchmarks ...", flush=True)
            records += functions.all_function_benchmarks(lab, quick=args.quick)
            explanations.update(functions.EXPLANATIONS)
    from bench.report import write

    write(
        records,
        args.out,
        latency_ms=args.latency_ms,
        explanations=explanations,
        seconds=time.monotonic() - started,
    )
    print(
        f"wrote {args.out / 'BENCHMARKS.md'} and {args.out / 'benchmarks.json'} in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
