"""Retries at every hop: 408/429/5xx, resets and hangs are retried with jittered backoff inside a
deadline; when the deadline passes the error says the upstream is unavailable, and is retryable.

Faults are scripted per hop in the lab (one outcome per request); the lab counts the requests.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request

from lab.core.runtime import Lab
from shared import aio, errors
from shared.azure_to_google import google_credentials
from shared.google_to_azure import GoogleFederatedCredential
from shared.retry import JitteredRetryPolicy, full_jitter_backoff
from tests.support.federation import STORAGE_SCOPE, azure_to_google_settings, google_to_azure_settings
from tests.support.retries import FAST_RETRY

pytestmark = pytest.mark.faults


def refresh_google(lab: Lab, **overrides: Any) -> Any:
    credentials = google_credentials(azure_to_google_settings(lab, **overrides))
    credentials.refresh(Request())
    return credentials


@pytest.mark.parametrize(
    ("hop", "script"),
    [
        ("gcp.sts", ["503", "500"]),
        ("gcp.sts", ["reset", "429"]),
        ("gcp.iam", ["503", "reset"]),
        ("gcp.iam", ["429", "500"]),
        ("azure.msi", ["500", "503"]),
        ("azure.msi", ["429", "reset"]),
    ],
)
def test_azure_to_google_retries_transient_failures_at_every_hop(
    lab: Lab, hop: str, script: list[Any]
) -> None:
    lab.controls.set_fault(hop, script=script)

    credentials = refresh_google(lab)

    assert credentials.token
    counts = lab.counts()
    hop_count = sum(n for name, n in counts.items() if name.startswith(hop + "."))
    assert hop_count == len(script) + 1  # every failure retried, then one success
    assert counts["gcp.sts.token"] >= 1 and counts["gcp.iam.generateAccessToken"] >= 1


def test_a_hanging_hop_is_abandoned_at_the_attempt_timeout_and_retried(lab: Lab) -> None:
    lab.controls.set_fault("gcp.sts", script=["hang"], hang_s=8)
    retry = dataclasses.replace(FAST_RETRY, attempt_timeout_s=0.5)

    refresh_google(lab, retry=retry)

    assert lab.counts()["gcp.sts.token"] == 2


def test_a_hop_that_stays_down_fails_at_the_deadline_as_unavailable(lab: Lab) -> None:
    lab.controls.set_fault("gcp.sts", down_for_s=60)
    retry = dataclasses.replace(FAST_RETRY, attempts=50, deadline_s=2.5)  # the lab says Retry-After: 1

    with pytest.raises(errors.UpstreamUnavailable) as caught:
        refresh_google(lab, retry=retry)

    assert caught.value.hop == "gcp.sts" and caught.value.retryable
    assert isinstance(caught.value, RefreshError)  # what google-cloud clients already handle
    assert 2 <= lab.counts()["gcp.sts.token"] <= 3  # Retry-After honoured, then stopped by the deadline
    assert caught.value.retry_after_s == 1.0  # for an HTTP caller's Retry-After
    assert "gcp.iam.generateAccessToken" not in lab.counts()


def test_attempts_are_bounded_too(lab: Lab) -> None:
    lab.controls.set_fault("gcp.iam", down_for_s=60)

    with pytest.raises(errors.UpstreamUnavailable) as caught:
        refresh_google(lab)

    assert caught.value.hop == "gcp.iam" and caught.value.status == 503
    assert lab.counts()["gcp.iam.generateAccessToken"] == FAST_RETRY.attempts


@pytest.mark.parametrize(
    ("hop", "script"),
    [
        ("entra.token", ["503", "429"]),
        ("entra.token", ["reset", "500"]),
        ("gcp.metadata.identity", ["500", "503"]),
        ("gcp.metadata.identity", ["reset", "429"]),
    ],
)
def test_google_to_azure_retries_transient_failures_at_every_hop(
    lab: Lab, hop: str, script: list[Any]
) -> None:
    lab.controls.set_fault(hop, script=script)

    token = GoogleFederatedCredential(google_to_azure_settings()).get_token(STORAGE_SCOPE)

    assert token.token
    assert lab.counts()[hop] == len(script) + 1


def test_async_credential_retries_entra_on_the_event_loop(lab: Lab) -> None:
    import asyncio

    lab.controls.set_fault("entra.token", script=["503", "reset"])

    async def token() -> str:
        async with aio.GoogleFederatedCredential(
            google_to_azure_settings(), connection_verify=os.environ["LAB_CA_FILE"]
        ) as credential:
            return (await credential.get_token(STORAGE_SCOPE)).token

    assert asyncio.run(token())
    assert lab.counts()["entra.token"] == 3


def test_entra_down_is_unavailable_not_a_refusal(lab: Lab) -> None:
    lab.controls.set_fault("entra.token", down_for_s=60)

    with pytest.raises(errors.UpstreamUnavailable) as caught:
        GoogleFederatedCredential(google_to_azure_settings()).get_token(STORAGE_SCOPE)

    assert caught.value.hop == "entra.token" and caught.value.retryable
    assert lab.counts()["entra.token"] == FAST_RETRY.attempts


# -- the backoff itself -----------------------------------------------------------------------


def test_backoff_is_exponential_with_full_jitter() -> None:
    for retry in (1, 2, 3, 6):
        cap = min(5.0, 0.2 * 2 ** (retry - 1))
        samples = [full_jitter_backoff(retry, 0.2, 5.0) for _ in range(200)]
        assert all(0.0 <= s <= cap for s in samples)
        assert len(set(samples)) > 150  # jittered, not a fixed schedule
        assert max(samples) > cap * 0.8  # and it does reach towards the cap


def test_azure_core_policy_uses_the_jittered_backoff() -> None:
    policy = JitteredRetryPolicy(retry_backoff_factor=0.5, retry_backoff_max=4.0)
    settings = {"history": [object()] * 4, "backoff": 0.5, "max_backoff": 4.0}
    samples = {policy.get_backoff_time(settings) for _ in range(100)}

    assert all(0.0 <= s <= 4.0 for s in samples) and len(samples) > 50
