"""``make demo`` itself: it runs to the end, shows both results and the misconfiguration, leaks nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.core.runtime import Lab
from tests.support.federation import expected_top_names, seeded_blob_names

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


def test_demo_shows_both_functions_and_one_misconfiguration(lab: Lab) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("LAB_")}
    result = subprocess.run(
        [sys.executable, "-m", "lab.scenarios.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    for name in seeded_blob_names(lab):
        assert name in output
    for name, total in expected_top_names(lab, "TX", 2021):
        assert f"{name:<10} {total:>6}" in output
    assert "hop entra.token" in output and "hop gcp.sts.token" in output
    # The warm start's exchanges are shown as such, not under whichever call came first.
    warm, calls = output.split("1. Cloud Function", 1)
    assert "hop entra.token" in warm and "hop gcp.sts.token" in warm, warm
    assert "hop entra.token" not in calls.split("3. A deliberate")[0]
    assert "Without the function key: HTTP 401" in output
    assert "HTTP 403 federation_refused" in output and "AADSTS700213" in output
    assert "eyJ" not in output, "the demo prints claims, never a token"
