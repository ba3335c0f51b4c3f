"""``python -m lab``: run the offline federation in the foreground until Ctrl-C.

Prints every endpoint and, per role, the settings that point the official SDKs, this project's
functions and ``shared/`` at the lab (:mod:`lab.hosting.profiles`): the Azure Function's
application settings, the Cloud Function's environment, and your laptop's for each direction.
It writes them to ``.lab/`` at the repository's root (``--env-dir``) when it starts and removes
them when it stops, so another shell can ``. .lab/azure-to-google.env`` while the lab runs.
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
from lab.hosting import profiles


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
    parser.add_argument(
        "--env-file", type=Path, help="also write every endpoint's `export` line to this file"
    )
    parser.add_argument(
        "--env-dir",
        type=Path,
        default=profiles.ENV_DIR,
        help="where to write each role's settings while the lab runs (default: %(default)s)",
    )
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
    # A closed terminal (or dropped SSH session) sends SIGHUP: stop as cleanly, unless under nohup.
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, on_signal)
    with lab:  # starts it; stops it (Azurite included) on every way out
        lab.controls.token_lifetime_s = args.token_lifetime
        if args.latency_ms:
            lab.controls.set_fault("*", latency_s=args.latency_ms / 1000)
        env = lab.env()
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
        if args.env_file:
            args.env_file.write_text(exports + "\n", encoding="utf-8")
        try:
            roles = profiles.write(lab, args.env_dir)
            if args.json:
                endpoints = {name: svc.url for name, svc in lab.services.items()}
                settings = {p.name: p.env for p in roles}
                print(json.dumps({"endpoints": endpoints, "env": env, "profiles": settings}), flush=True)
            else:
                print(f"Federation lab ready in {time.monotonic() - started:.2f}s (topology {args.topology})")
                for name, service in sorted(lab.services.items()):
                    print(f"  {name:<14} {service.url}")
                print(f"  {'admin':<14} {lab.admin_url}")
                print_profiles(roles, args.env_dir)
                print("\nCtrl-C stops the lab (and removes those files).", flush=True)
            stop.wait()
        finally:
            profiles.remove(args.env_dir)
    print("lab stopped", file=sys.stderr)
    return 0


def print_profiles(roles: list[profiles.Profile], directory: Path) -> None:
    """Each role's settings, and the file in ``directory`` that holds them while the lab runs."""
    shown = directory.relative_to(Path.cwd()) if directory.is_relative_to(Path.cwd()) else directory
    print(f"\nSettings per role, also in {shown}/ while the lab runs (one role per shell):")
    for role in roles:
        print(f"\n# {shown / role.file_name}   (load it: . {shown / role.file_name})")
        print(role.shell(), end="")  # the file also unsets the other roles' variables
    print(f"\n# {shown / profiles.LOCAL_SETTINGS}: the azure-function role for func start", flush=True)


if __name__ == "__main__":
    sys.exit(main())
