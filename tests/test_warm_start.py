"""Warm start (``shared.functions.warmup``): a new instance begins its token exchange when its
entrypoint is imported, and its first request uses that token instead of exchanging again.

The misconfiguration matrix (tests/test_misconfig_matrix.py) runs every mistake with the warm
start on as well: a bad setting or a refused exchange is still reported by the first request.
Here: the healthy path in process, a first request that arrives while the exchange is in flight,
the switch, and the real hosts — gunicorn imports the Cloud Function in its master and forks the
worker, which must inherit the token rather than deadlock on a lock held across the fork.
"""

from __future__ import annotations

import pytest
import requests

from lab.core.runtime import Lab
from lab.hosting.functions import FunctionProcess, cloud_function_settings, function_app_settings, process_env
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings, wait_for_warm_start
from tests.support.retries import FAST_FUNCTION_RETRIES

pytestmark = pytest.mark.singleflight

GOOGLE_TO_AZURE_EXCHANGE = ("gcp.metadata.identity", "entra.token")
AZURE_TO_GOOGLE_EXCHANGE = ("azure.msi.appservice", "gcp.sts.token", "gcp.iam.generateAccessToken")


def _exchanges(lab: Lab, hops: tuple[str, ...]) -> dict[str, int]:
    counts = lab.counts()
    return {hop: counts.get(hop, 0) for hop in hops}


def test_the_cloud_function_exchanges_at_start_and_its_first_request_reuses_the_token(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), "FEDERATION_WARM_START": "1"})
    client = entrypoints.cloud_function(lab)
    wait_for_warm_start()
    assert _exchanges(lab, GOOGLE_TO_AZURE_EXCHANGE) == dict.fromkeys(GOOGLE_TO_AZURE_EXCHANGE, 1)

    response = client.get("/", query_string={"max_results": "5"})

    assert response.status_code == 200, response.get_json()
    assert _exchanges(lab, GOOGLE_TO_AZURE_EXCHANGE) == dict.fromkeys(GOOGLE_TO_AZURE_EXCHANGE, 1)


def test_the_function_app_exchanges_at_start_and_its_first_request_reuses_the_token(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**function_app_settings(lab), "FEDERATION_WARM_START": "1"})
    function = entrypoints.function_app(lab, monkeypatch)
    wait_for_warm_start()
    assert _exchanges(lab, AZURE_TO_GOOGLE_EXCHANGE) == dict.fromkeys(AZURE_TO_GOOGLE_EXCHANGE, 1)
    built = function.module._instance.built
    assert built is not None, "the BigQuery client is built during the warm start"

    status, body, _ = function()

    assert status == 200, body
    assert _exchanges(lab, AZURE_TO_GOOGLE_EXCHANGE) == dict.fromkeys(AZURE_TO_GOOGLE_EXCHANGE, 1)
    assert function.module._instance.built is built


def test_a_first_request_during_the_warm_start_waits_for_it_instead_of_exchanging_again(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**function_app_settings(lab), "FEDERATION_WARM_START": "1"})
    lab.controls.set_fault("gcp.sts", latency_s=0.5)  # the exchange is still in flight when the request comes

    status, body, _ = entrypoints.function_app(lab, monkeypatch)()

    assert status == 200, body
    wait_for_warm_start()
    assert _exchanges(lab, AZURE_TO_GOOGLE_EXCHANGE) == dict.fromkeys(AZURE_TO_GOOGLE_EXCHANGE, 1)


def test_with_the_warm_start_off_nothing_is_asked_before_the_first_request(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), "FEDERATION_WARM_START": "0"})
    client = entrypoints.cloud_function(lab)
    wait_for_warm_start()
    assert lab.counts() == {}

    assert client.get("/").status_code == 200
    assert _exchanges(lab, GOOGLE_TO_AZURE_EXCHANGE) == dict.fromkeys(GOOGLE_TO_AZURE_EXCHANGE, 1)


@pytest.mark.e2e
@pytest.mark.parametrize("function", ["cloud_function", "function_app"])
def test_a_new_host_process_serves_its_first_request_with_the_token_from_its_warm_start(
    lab: Lab, function_key: str, function: str
) -> None:
    """functions-framework forks gunicorn's worker after importing the app: the worker must inherit
    the token (one exchange in all) and not hang on a lock the warm start held across the fork."""
    hops: tuple[str, ...]
    if function == "cloud_function":
        env = process_env(lab, cloud_function_settings(lab), **FAST_FUNCTION_RETRIES)
        process, hops, path = FunctionProcess.cloud_function(env), GOOGLE_TO_AZURE_EXCHANGE, ""
    else:
        env = process_env(
            lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=function_key, **FAST_FUNCTION_RETRIES
        )
        process, hops, path = FunctionProcess.function_app(env), AZURE_TO_GOOGLE_EXCHANGE, ""
    assert "FEDERATION_WARM_START" not in env  # on by default

    with process:
        response = requests.get(process.url + path, headers={"x-functions-key": function_key}, timeout=30)
        assert response.status_code == 200, response.text
        assert _exchanges(lab, hops) == dict.fromkeys(hops, 1)
        again = requests.get(process.url + path, headers={"x-functions-key": function_key}, timeout=30)
        assert again.status_code == 200
    assert _exchanges(lab, hops) == dict.fromkeys(hops, 1), process.output
