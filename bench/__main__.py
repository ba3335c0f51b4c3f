"""``make bench``: this project against the official libraries and the plain-SDK twins, against the lab.

Writes docs/BENCHMARKS.md and docs/benchmarks.json. Benchmarks are not tests: nothing here
asserts; BENCHMARKS.md says which targets are met. About 12 minutes on 2 shared cores.
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
PARTS = ("tokens", "functions", "instance", "soak", "scale")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="added to every hop in sections 1-5 (default 20)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs", help="where to write the two files (default docs/)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples: a smoke run, not figures to publish"
    )
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    args = parser.parse_args(argv)
    parts = args.only or PARTS
    logging.disable(logging.WARNING)  # the SDKs' retry warnings are expected under load; figures only

    started, load_before = time.monotonic(), _load()
    with LabProcess() as lab:
        os.environ.update(lab.env())  # before google-auth is imported: it reads GCE_METADATA_HOST then
        from bench import functions, instance, scale, soak, tokens
        from lab.hosting.functions import cloud_function_settings, function_app_settings

        flat = {"*": args.latency_ms / 1000}
        records = []
        explanations = {}
        if "tokens" in parts:
            print("token benchmarks ...", flush=True)
            lab.set_latency(flat)
            records += tokens.all_token_benchmarks(lab, quick=args.quick)
            explanations.update(tokens.EXPLANATIONS)
        if "functions" in parts:
            print("function benchmarks ...", flush=True)
            lab.set_latency(flat)
            records += functions.all_function_benchmarks(lab, quick=args.quick)
            explanations.update(functions.EXPLANATIONS)
        if "instance" in parts:
            print("new instances: first request and memory ...", flush=True)
            records += instance.all_instance_benchmarks(lab, quick=args.quick)
            explanations.update(instance.EXPLANATIONS)
        if "soak" in parts:
            print("long life ...", flush=True)
            lab.set_latency({})
            cycles = (
                ["--cycles=300", "--warmup-cycles=50"]
                if args.quick
                else ["--cycles=2000", "--warmup-cycles=300"]
            )
            result = soak.spawn(lab.env(), cloud_function_settings(lab), function_app_settings(lab), *cycles)
            records += soak.records(result)
            explanations.update(soak.EXPLANATIONS)
    if "scale" in parts:
        print("scale on paper ...", flush=True)
        records += scale.simulate()
        explanations.update(scale.EXPLANATIONS)
    from bench.report import write

    write(
        records,
        args.out,
        latency_ms=args.latency_ms,
        explanations=explanations,
        seconds=time.monotonic() - started,
        load=(load_before, _load()),
    )
    print(
        f"wrote {args.out / 'BENCHMARKS.md'} and {args.out / 'benchmarks.json'} in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
