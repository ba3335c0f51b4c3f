"""Scale on paper: the token exchanges per second that N instances send to each identity service.

Every instance holds one token per direction and refreshes it by the rule in
:mod:`shared.refresh` (:class:`~shared.refresh.Window`: ahead of expiry, and with
``jitter_fraction`` of the token's life taken off at random). This runs that rule for N holders
over simulated hours, event by event (no sleeping), and reports the peak refresh exchanges in any
one second and in any sliding minute, with the jitter and without it, for three ways instances
start (the first exchange of each instance comes on top, at its start: N of them within the
start window, whatever the rule):

* ``deploy``: a cold deploy, every instance starts within the same second;
* ``burst``: a scale-out burst, every instance starts within one minute;
* ``steady``: instances started at random over one token lifetime.

Each refresh is one exchange at each hop of its direction (Google -> Azure: one Entra token
request; Azure -> Google: one STS exchange and, with impersonation, one generateAccessToken), so
the figures are the rate each of those services sees. docs/SCALE.md sets them against the
published quotas. ``python -m bench.scale`` prints the table.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from collections import Counter
from dataclasses import replace

from bench.report import Record
from shared.refresh import RefreshTiming, Window

SCALE = "10. Scale on paper (simulated)"
EXPLANATIONS = {
    SCALE: "N instances, one-hour tokens, six simulated hours, each instance refreshing by shared.refresh's "
    "rule: the most refresh exchanges any identity service receives in one second and in any sliding minute, "
    "with the refresh jitter and without it. `deploy`: all instances start in the same second; `burst`: within "
    "one minute; `steady`: at random over an hour. Each instance's first exchange, at its start, is not "
    "counted: N of them arrive within the start window whatever the rule. See docs/SCALE.md.",
}
STARTS = {"deploy": 1.0, "burst": 60.0, "steady": 3600.0}


def schedule(
    instances: int,
    lifetime_s: float,
    hours: float,
    start_within_s: float,
    timing: RefreshTiming,
    seed: int = 0,
) -> Counter[int]:
    """Refreshes per whole second of simulated time (each instance's first exchange left out: it
    happens when the instance starts, whatever the refresh rule)."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
    per_second: Counter[int] = Counter()
    horizon = hours * 3600
    queue = [(rng.uniform(0, start_within_s), True) for _ in range(instances)]
    heapq.heapify(queue)
    while queue:
        at, first = heapq.heappop(queue)
        if at >= horizon:
            continue
        if not first:
            per_second[int(at)] += 1
        window = Window.of(at, at + lifetime_s, timing, jitter=rng.random())
        heapq.heappush(queue, (window.refresh_at, False))
    return per_second


def peaks(per_second: Counter[int]) -> tuple[int, int]:
    """(most in one second, most in any 60 consecutive seconds)."""
    if not per_second:
        return 0, 0
    last = max(per_second)
    counts = [per_second.get(second, 0) for second in range(last + 1)]
    window = best = sum(counts[:60])
    for second in range(60, len(counts)):
        window += counts[second] - counts[second - 60]
        best = max(best, window)
    return max(counts), best


def simulate(
    sizes: tuple[int, ...] = (100, 1000, 10000), lifetime_s: float = 3600, hours: float = 6
) -> list[Record]:
    records = []
    jittered = RefreshTiming()
    for instances in sizes:
        for subject, timing in (("jitter", jittered), ("no jitter", replace(jittered, jitter_fraction=0.0))):
            for start, within in STARTS.items():
                per_s, per_min = peaks(schedule(instances, lifetime_s, hours, within, timing))
                records += [
                    Record(SCALE, f"N={instances}", subject, f"peak_per_s ({start})", per_s, "/s"),
                    Record(SCALE, f"N={instances}", subject, f"peak_per_min ({start})", per_min, "/min"),
                ]
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--lifetime-s", type=float, default=3600)
    parser.add_argument("--hours", type=float, default=6)
    args = parser.parse_args(argv)
    for record in simulate(tuple(args.instances), args.lifetime_s, args.hours):
        print(
            f"{record.direction:>8} {record.subject:>9} {record.metric:<24} {record.value:>7g} {record.unit}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
