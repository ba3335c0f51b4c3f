"""Long life, short version: hundreds of token refreshes with requests flowing through the real
SDK clients (``bench.soak`` in a process of its own, against the session's lab). Counts only —
no wall-clock bound: no failed request, and the same threads, descriptors and sockets at rest
after as before. ``make bench`` runs the long one (2,000 refreshes) and records memory growth.
"""

from __future__ import annotations

import pytest

from bench import soak
from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings

pytestmark = pytest.mark.soak


@pytest.mark.timeout(300)
def test_hundreds_of_refreshes_fail_nothing_and_leak_no_thread_descriptor_or_socket(lab: Lab) -> None:
    result = soak.spawn(
        lab.env(),
        cloud_function_settings(lab),
        function_app_settings(lab),
        "--cycles=150",
        "--warmup-cycles=30",
        "--holders=4",
    )

    assert result["failures"] == 0, result["errors"]
    assert result["refresh_cycles"] >= 150
    assert result["requests"] > result["refresh_cycles"], "requests flowed between the refreshes"
    start, end = result["start"], result["end"]
    assert end["threads"] == start["threads"], result
    assert end["descriptors"] == start["descriptors"], result
    assert end["sockets"] == start["sockets"], result
