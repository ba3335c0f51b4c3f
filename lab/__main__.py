"""``python -m lab``: run the offline federation in the foreground until Ctrl-C.

Prints every endpoint and the environment to export so the official SDKs (and this
project's functions) talk to the lab instead of the clouds.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from lab.core.runtime import Lab
from lab.core.topology import DEFAULT_TOPOLOGY, TopologyError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lab", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--topology", type=Path, default=DEFAULT_TOPOLOGY, help="topology TOML (default: %(default)s)"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every hop")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="lifetime of minted tokens, seconds")
    parser.add_argument("--no-azurite", action="store_true", help="do not start Azurite (no Blob Storage)")
    parser.add_argument("--env-file", type=Path, help="also write the `export` lines to this file")
    parser.add_argument(
        "--json", action="store_true", help="print endpoints and environment as one JSON line"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        lab = Lab(args.topology, with_azurite=not args.no_azurite)
    except TopologyError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with lab:  # starts it; stops it (Azurite included) on every way out
        lab.controls.token_lifetime_s = args.token_lifetime
        if args.latency_ms:
            lab.controls.set_fault("*", latency_s=args.latency_ms / 1000)
        env = lab.env()
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
        if args.env_file:
            args.env_file.write_text(exports + "\n", encoding="utf-8")
        if args.json:
            endpoints = {name: svc.url for name, svc in lab.services.items()}
            print(json.dumps({"endpoints": endpoints, "env": env}), flush=True)
        else:
            print(f"Federation lab ready in {time.monotonic() - started:.2f}s (topology {args.topology})")
            for name, service in sorted(lab.services.items()):
                print(f"  {name:<14} {service.url}")
            print(f"  {'admin':<14} {lab.admin_url}")
            print("\n# Point the SDKs at the lab:")
            print(exports, flush=True)
            print("\nCtrl-C stops the lab.", flush=True)
        stop.wait()
    print("lab stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
