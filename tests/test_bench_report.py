"""``make bench``'s bookkeeping (not its figures: benchmarks are not tests)."""

from __future__ import annotations

from bench.report import TARGETS, Record, Target, markdown, percentile


def record(subject: str, metric: str, value: float, direction: str = "gcp_to_azure") -> Record:
    return Record("b", direction, subject, metric, value, "µs")


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50, 99, 100)
    assert percentile([7.0], 0.99) == 7.0


def test_a_target_needs_this_project_and_can_require_beating_the_official_libraries() -> None:
    target = Target("warm_token_us_median", "<= 5", also_below_official=True)

    assert target.met([]) == (False, "not measured")
    assert target.met(
        [
            record("this project", "warm_token_us_median", 2),
            record("azure-identity", "warm_token_us_median", 8),
        ]
    )[0]
    assert not target.met(
        [
            record("this project", "warm_token_us_median", 2),
            record("azure-identity", "warm_token_us_median", 1),
        ]
    )[0]
    assert not target.met([record("this project", "warm_token_us_median", 6)])[0]


def test_direction_scoped_targets_only_see_their_direction() -> None:
    target = Target("cold_round_trips", "== 2", "gcp_to_azure")

    assert target.met(
        [
            record("this project", "cold_round_trips", 2),
            record("this project", "cold_round_trips", 3, "azure_to_gcp"),
        ]
    )[0]


def test_markdown_lists_every_target_and_table() -> None:
    records = [record("this project", "cold_round_trips", 2), record("naive", "cold_round_trips", 3)]

    text = markdown(records, latency_ms=20, explanations={"b": "What b measures."}, seconds=1)

    assert all(f"`{t.metric}`" in text for t in TARGETS)
    assert "What b measures." in text
    assert "| gcp_to_azure | naive | 3 µs |" in text
