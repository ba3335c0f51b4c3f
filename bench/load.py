"""A small closed-loop HTTP load generator: N threads, each a keep-alive session, for T seconds.

``python -m bench.load URL --seconds 5 --concurrency 8 [--requests N] [--header 'name: value']`` prints one
JSON line: requests, errors, requests per second, p50 and p99 in milliseconds. It runs in its
own process, so it never competes with the server it measures for the GIL.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import requests


def run(
    url: str, seconds: float, concurrency: int, headers: dict[str, str], requests_total: int | None = None
) -> dict[str, float]:
    """``requests_total`` stops after that many requests instead of after ``seconds``."""
    began = time.monotonic()
    until = began + (seconds if requests_total is None else 3600.0)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    tickets = iter(range(requests_total)) if requests_total is not None else None

    def worker() -> None:
        nonlocal errors
        session = requests.Session()
        while time.monotonic() < until:
            if tickets is not None:
                with lock:
                    if next(tickets, None) is None:
                        return
            started = time.perf_counter()
            status = session.get(url, headers=headers, timeout=30).status_code
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors += status != 200

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    took = time.monotonic() - began if requests_total is not None else seconds
    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": len(ordered) / took,
        "p50_ms": ordered[len(ordered) // 2] if ordered else 0.0,
        "p99_ms": ordered[int(len(ordered) * 0.99)] if ordered else 0.0,
    }


def spawn(url: str, key: str, *options: str) -> dict[str, float]:
    """Run ``python -m bench.load URL --concurrency=8 *options`` with the function key in a process of
    its own; its result. Raises if any request failed."""
    import subprocess
    from pathlib import Path

    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "bench.load",
            url,
            "--concurrency=8",
            f"--header=x-functions-key: {key}",
            *options,
        ],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']:g} errors under load")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--requests", type=int, default=None, help="stop after this many (not after --seconds)"
    )
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    print(
        json.dumps(
            run(
                args.url,
                args.seconds,
                args.concurrency,
                {k.strip(): v.strip() for k, v in headers.items()},
                args.requests,
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
