"""Refresh jitter (``shared.refresh``): instances started together must not refresh together.

A refresh is due ``min(ahead_s, life * ahead_fraction)`` before expiry, less a random share of
``jitter_fraction`` of the life; bench/scale.py runs that rule for many holders (docs/SCALE.md).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.scale import peaks, schedule
from shared.refresh import RefreshTiming, Window

pytestmark = pytest.mark.singleflight

HOUR = 3600.0


def test_the_refresh_time_falls_in_the_jitter_window_before_the_usual_refresh_time() -> None:
    timing = RefreshTiming()
    earliest = Window.of(0.0, HOUR, timing, jitter=0.999999).refresh_at
    latest = Window.of(0.0, HOUR, timing, jitter=0.0).refresh_at

    assert latest == HOUR - 300
    assert earliest == pytest.approx(HOUR - 300 - 0.1 * HOUR, abs=0.01)
    draws = [Window.of(0.0, HOUR, timing).refresh_at for _ in range(200)]
    assert all(earliest <= at <= latest for at in draws)
    assert len({round(at) for at in draws}) > 50, "the default draw is random"


def test_a_short_token_is_never_refreshed_before_it_was_fetched() -> None:
    window = Window.of(100.0, 101.0, RefreshTiming(jitter_fraction=5.0), jitter=0.99)
    assert window.refresh_at == 100.0


def test_a_thousand_instances_started_in_the_same_second_spread_their_refreshes() -> None:
    jittered = RefreshTiming()
    together = peaks(schedule(1000, HOUR, 3, 1.0, replace(jittered, jitter_fraction=0.0)))
    spread = peaks(schedule(1000, HOUR, 3, 1.0, jittered))

    assert together == (1000, 1000), "without jitter every refresh cycle lands in one second"
    per_second, per_minute = spread
    assert per_second <= 20
    assert per_minute <= 1000 * 60 / (0.1 * HOUR) * 1.5  # about a sixth of them in any minute
