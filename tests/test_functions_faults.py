"""Both functions, served by their hosts over HTTP, through the faults clouds really have.

Flaky hops are retried until every request succeeds; a hop that is down fails each request
within the deadline with 503 and ``Retry-After`` while the process stays healthy, and the
first request after recovery succeeds; tokens that expire mid-burst, clock skew and an
upstream that never answers are all survived or reported, never hung on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from lab.core.controls import FaultKind
from lab.core.runtime import Lab
from lab.hosting.functions import FunctionProcess, cloud_function_settings, function_app_settings, process_env

pytestmark = pytest.mark.faults
KEY = "faults-test-key"
FLAKY: tuple[FaultKind, ...] = ("429", "500", "503", "reset", "hang")


def start(lab: Lab, which: str, **settings: str) -> FunctionProcess:
    if which == "cloud_function":
        return FunctionProcess.cloud_function(process_env(lab, cloud_function_settings(lab), **settings))
    env = process_env(lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=KEY, **settings)
    return FunctionProcess.function_app(env)


@pytest.fixture
def functions(lab: Lab) -> Iterator[list[FunctionProcess]]:
    """Processes a test starts; stopped after it, and checked for leaked tokens."""
    started: list[FunctionProcess] = []
    yield started
    for process in started:  # every one stopped before any check can fail the teardown
        process.stop()
    leaked = [process.url for process in started if any(secret in process.output for secret in lab.minted())]
    assert not leaked, f"a token reached the logs of {leaked}"


def get(process: FunctionProcess, timeout: float = 60) -> requests.Response:
    return requests.get(process.url, headers={"x-functions-key": KEY}, timeout=timeout)


def burst(process: FunctionProcess, total: int, threads: int = 8) -> Counter[int]:
    """``total`` requests from ``threads`` connections; the statuses counted."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    remaining = iter(range(total))

    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            status = session.get(process.url, headers={"x-functions-key": KEY}, timeout=120).status_code
            with lock:
                statuses[status] += 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return statuses


def test_a_thousand_requests_through_thirty_percent_faults_at_every_hop(
    lab: Lab, functions: list[FunctionProcess]
) -> None:
    # Every hop (token endpoints and data calls) fails 30 % of the time: throttling, server
    # errors, resets, and hangs held past the per-attempt timeout. Ten attempts per call.
    lab.controls.set_fault("*", failure_rate=0.3, failure_kinds=FLAKY, hang_s=3)
    settings = {"FEDERATION_RETRY_ATTEMPTS": "10", "FEDERATION_ATTEMPT_TIMEOUT_S": "1",
                "FEDERATION_RETRY_DEADLINE_S": "60", "BIGQUERY_TIMEOUT_S": "60"}  # fmt: skip
    cloud, app = start(lab, "cloud_function", **settings), start(lab, "function_app", **settings)
    functions += [cloud, app]
    for process in functions:
        process.start().wait_ready()

    results: dict[str, Counter[int]] = {}
    runners = [
        threading.Thread(target=lambda p=process, n=name: results.__setitem__(n, burst(p, 500)))
        for name, process in (("cloud", cloud), ("app", app))
    ]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()

    assert results == {"cloud": Counter({200: 500}), "app": Counter({200: 500})}
    counts = lab.counts()
    assert counts["azure.blob"] > 500 and counts["gcp.bigquery.jobs.query"] > 500, "faults were retried"


def test_a_hop_down_for_thirty_seconds_fails_fast_and_recovers(
    lab: Lab, functions: list[FunctionProcess]
) -> None:
    app = start(lab, "function_app")  # the default deadline: 10 s
    functions.append(app)
    app.start().wait_ready()
    lab.controls.set_fault("gcp.sts", down_for_s=30)
    down_until = time.monotonic() + 30

    while time.monotonic() < down_until - 11:
        started = time.monotonic()
        response = get(app)
        elapsed = time.monotonic() - started
        assert response.status_code == 503 and elapsed < 12, (response.status_code, elapsed)
        assert int(response.headers["Retry-After"]) >= 1
        error = response.json()["error"]
        assert (error["code"], error["hop"]) == ("unavailable", "gcp.sts")
        assert app.running, "the host is still running"

    time.sleep(max(0.0, down_until - time.monotonic()) + 0.2)
    assert get(app).status_code == 200, "the first request after recovery succeeds"


def test_tokens_expiring_in_the_middle_of_a_burst(lab: Lab, functions: list[FunctionProcess]) -> None:
    lab.controls.token_lifetime_s = 6
    cloud, app = start(lab, "cloud_function"), start(lab, "function_app")
    functions += [cloud, app]
    for process in functions:
        process.start().wait_ready()
    until = time.monotonic() + 8  # past the first tokens' expiry

    statuses: Counter[int] = Counter()
    while time.monotonic() < until:
        statuses += burst(cloud, 8) + burst(app, 8)

    assert set(statuses) == {200}
    counts = lab.counts()
    assert counts["entra.token"] >= 2 and counts["gcp.sts.token"] >= 2, "the tokens were renewed"


@pytest.mark.parametrize("skew_s", [-240, 240])
def test_four_minutes_of_clock_skew_between_the_clouds_and_the_functions(
    lab: Lab, functions: list[FunctionProcess], skew_s: int
) -> None:
    lab.controls.clock_skew_s = skew_s
    cloud, app = start(lab, "cloud_function"), start(lab, "function_app")
    functions += [cloud, app]
    for process in functions:
        process.start().wait_ready()

    assert [get(cloud).status_code, get(app).status_code] == [200, 200]


def test_an_upstream_that_never_answers_is_a_503_within_the_deadline(
    lab: Lab, functions: list[FunctionProcess]
) -> None:
    lab.controls.set_fault("gcp.iam", script=["hang"] * 20, hang_s=60)  # accepts, then never answers
    app = start(lab, "function_app", FEDERATION_RETRY_DEADLINE_S="3", FEDERATION_ATTEMPT_TIMEOUT_S="1")
    functions.append(app)
    app.start().wait_ready()

    started = time.monotonic()
    response = get(app)

    assert time.monotonic() - started < 6
    assert response.status_code == 503 and response.json()["error"]["hop"] == "gcp.iam"
    assert "Retry-After" in response.headers
