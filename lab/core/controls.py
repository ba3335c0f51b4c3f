"""What a test or the admin route can change while the lab runs: faults, clock, lifetimes.

Every request to an emulated endpoint is a *hop* with a dotted name (``entra.token``,
``gcp.sts``, ``gcp.iam.generateAccessToken`` ...). A fault set on a prefix (``gcp.iam``)
applies to every hop under it. Counters are per hop.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Literal

from lab.core.trace import Trace

FaultKind = Literal["429", "500", "503", "reset", "hang", "ok"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "reset", "hang", "ok")


@dataclass
class HopFaults:
    """The faults of one hop (or hop prefix)."""

    latency_s: float = 0.0
    script: deque[FaultKind] = field(default_factory=deque)  # consumed one per request
    failure_rate: float = 0.0  # chance of a random failure after the script runs out
    failure_kinds: tuple[FaultKind, ...] = ("429", "500", "503", "reset")
    down_until: float = 0.0  # monotonic time; 503 until then
    hang_s: float = 30.0  # how long "hang" holds the connection before dropping it


class Controls:
    """Thread-safe fault plan, request counters, lab clock and token lifetimes."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, HopFaults] = {}
        self._counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self.clock_skew_s = 0.0
        self.token_lifetime_s = 3600
        self.stopping = threading.Event()
        self.trace = Trace()

    # -- clock and lifetimes --------------------------------------------------------------
    def now(self) -> float:
        """The lab's wall clock: the machine's, shifted by the configured skew."""
        return time.time() + self.clock_skew_s

    # -- faults ---------------------------------------------------------------------------
    def set_fault(
        self,
        hop: str,
        *,
        latency_s: float | None = None,
        script: list[FaultKind] | None = None,
        failure_rate: float | None = None,
        failure_kinds: tuple[FaultKind, ...] | None = None,
        down_for_s: float | None = None,
        hang_s: float | None = None,
    ) -> None:
        """Change the faults of ``hop`` (a hop name or prefix, ``*`` for every hop)."""
        for kind in list(script or []) + list(failure_kinds or []):
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            faults = self._faults.setdefault(hop, HopFaults())
            if latency_s is not None:
                faults.latency_s = max(0.0, latency_s)
            if script is not None:
                faults.script.extend(script)
            if failure_rate is not None:
                faults.failure_rate = min(1.0, max(0.0, failure_rate))
            if failure_kinds is not None:
                faults.failure_kinds = failure_kinds
            if down_for_s is not None:
                faults.down_until = time.monotonic() + down_for_s
            if hang_s is not None:
                faults.hang_s = hang_s

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def plan(self, hop: str) -> tuple[float, FaultKind, float]:
        """Decide the fate of one request to ``hop``: (latency, outcome, hang seconds).

        The most specific matching entry with a pending script supplies the outcome;
        latencies of all matching entries add up.
        """
        with self._lock:
            matching = self._by_specificity(hop)
            latency = sum(f.latency_s for f in matching)
            hang_s = min((f.hang_s for f in matching), default=30.0)
            for faults in matching:
                if faults.down_until > time.monotonic():
                    return latency, "503", hang_s
                if faults.script:
                    return latency, faults.script.popleft(), hang_s
            for faults in matching:
                if faults.failure_rate and self._random.random() < faults.failure_rate:
                    return latency, self._random.choice(faults.failure_kinds), hang_s
            return latency, "ok", hang_s

    def _by_specificity(self, hop: str) -> list[HopFaults]:
        """The entries that apply to ``hop``, most specific (longest key) first."""
        keys = sorted((k for k in self._faults if matches(k, hop)), key=len, reverse=True)
        return [self._faults[k] for k in keys]

    # -- counters -------------------------------------------------------------------------
    def count(self, hop: str) -> None:
        with self._lock:
            self._counts[hop] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Zero the counters and empty the trace."""
        with self._lock:
            self._counts.clear()
        self.trace.clear()

    def reset(self) -> None:
        """Back to a healthy lab: no faults, no skew, default lifetimes, zero counters."""
        self.clear_faults()
        self.reset_counts()
        self.clock_skew_s = 0.0
        self.token_lifetime_s = 3600


def matches(key: str, hop: str) -> bool:
    """Whether a fault set on ``key`` (a hop name, a prefix such as ``gcp.iam``, or ``*``) applies to ``hop``."""
    return key == "*" or hop == key or hop.startswith(key + ".")
