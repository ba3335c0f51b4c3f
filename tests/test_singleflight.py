"""Single flight and refresh-ahead: many callers, one call per hop; no caller waits on a refresh.

The lab counts every request per hop. Latency on the hops keeps the callers overlapping; a
barrier releases them together.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import ManagedIdentityCredential
from google.auth.transport.requests import Request

from lab.core.runtime import Lab
from shared import aio
from shared.azure_to_google import AzureFederatedCredentials, google_credentials
from shared.google_id_tokens import MetadataIdTokens
from shared.google_to_azure import GoogleFederatedCredential
from shared.refresh import RefreshTiming
from tests.support.federation import (
    AZURE_TO_GOOGLE_HOPS,
    STORAGE_SCOPE,
    azure_to_google_settings,
    google_to_azure_settings,
    hop_counts,
)

pytestmark = pytest.mark.singleflight

CALLERS = 64
# Due for a background refresh as soon as fetched (used where a test wants one).
ALWAYS_DUE = RefreshTiming(ahead_s=10_000, ahead_fraction=1.0)


def all_at_once(call: Callable[[], Any], callers: int = CALLERS) -> list[Any]:
    barrier = threading.Barrier(callers)

    def one() -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(callers) as pool:
        return [f.result() for f in [pool.submit(one) for _ in range(callers)]]


def fingerprint(token: str) -> str:
    """A short digest, so that a failing assertion never prints a token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def google_token(credentials: AzureFederatedCredentials) -> str:
    headers: dict[str, str] = {}
    credentials.before_request(Request(), "GET", "https://bigquery.lab.internal/", headers)
    return fingerprint(headers["authorization"].removeprefix("Bearer "))


def azure_token(credential: GoogleFederatedCredential) -> str:
    return fingerprint(credential.get_token(STORAGE_SCOPE).token)


def wait_until_expired(window_end: float) -> None:
    time.sleep(max(0.0, window_end - time.time()) + 0.05)


# -- Azure -> Google --------------------------------------------------------------------------


def test_cold_start_64_threads_one_call_per_hop(lab: Lab) -> None:
    lab.controls.set_fault("gcp", latency_s=0.2)
    credentials = google_credentials(azure_to_google_settings(lab))

    tokens = all_at_once(lambda: google_token(credentials))

    assert len(set(tokens)) == 1
    assert hop_counts(lab, *AZURE_TO_GOOGLE_HOPS) == (1, 1, 1)


def test_expired_token_64_threads_one_call_per_hop(lab: Lab) -> None:
    lab.controls.token_lifetime_s = 3
    credentials = google_credentials(azure_to_google_settings(lab))
    first = google_token(credentials)
    held = credentials.token_holder.held
    assert held is not None
    wait_until_expired(held.window.usable_until)
    lab.controls.reset_counts()
    lab.controls.set_fault("gcp", latency_s=0.2)

    tokens = all_at_once(lambda: google_token(credentials))

    assert len(set(tokens)) == 1 and tokens[0] != first
    assert hop_counts(lab, *AZURE_TO_GOOGLE_HOPS) == (1, 1, 1)


class Gate:
    """Lets the first call through and holds every later one until opened (to hold a refresh open)."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.blocked = threading.Event()

    def pass_or_wait(self) -> None:
        self.calls += 1
        if self.calls > 1:
            self.blocked.set()
            assert self.gate.wait(20)


class GatedAzureCredential(Gate):
    """An azure-identity managed identity credential behind a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = ManagedIdentityCredential()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.pass_or_wait()
        token: AccessToken = self.inner.get_token(*scopes, **kwargs)
        return token


def test_refresh_runs_in_the_background_while_the_held_token_serves(lab: Lab) -> None:
    azure = GatedAzureCredential()
    settings = azure_to_google_settings(
        lab, service_account=None
    )  # direct access: each refresh reaches Azure
    credentials = google_credentials(settings, azure_credential=azure, timing=ALWAYS_DUE)
    first = google_token(credentials)  # a blocking fetch: nothing is held yet

    second = google_token(credentials)  # due: starts the background refresh, returns the held token
    assert azure.blocked.wait(10), "no background refresh started"
    during = all_at_once(lambda: google_token(credentials), callers=16)  # the refresh is provably still open

    assert second == first and set(during) == {first}
    azure.gate.set()
    credentials.token_holder.join_background(10)
    assert google_token(credentials) != first
    assert lab.counts()["gcp.sts.token"] == 2


# -- Google -> Azure --------------------------------------------------------------------------


def test_cold_start_64_threads_one_id_token_one_entra_call(lab: Lab) -> None:
    lab.controls.set_fault("entra", latency_s=0.2)
    credential = GoogleFederatedCredential(google_to_azure_settings())

    tokens = all_at_once(lambda: azure_token(credential))

    assert len(set(tokens)) == 1
    counts = lab.counts()
    assert counts["gcp.metadata.identity"] == 1
    assert counts["entra.token"] == 1


def test_expired_azure_token_64_threads_one_call_per_hop(lab: Lab) -> None:
    lab.controls.token_lifetime_s = 3
    credential = GoogleFederatedCredential(google_to_azure_settings())
    first = azure_token(credential)
    held = credential.token_holder(STORAGE_SCOPE).held
    assert held is not None
    wait_until_expired(held.window.usable_until)
    lab.controls.reset_counts()
    lab.controls.set_fault("entra", latency_s=0.2)

    tokens = all_at_once(lambda: azure_token(credential))

    assert len(set(tokens)) == 1 and tokens[0] != first
    assert (lab.counts()["gcp.metadata.identity"], lab.counts()["entra.token"]) == (1, 1)


def test_64_tasks_one_call_per_hop_cold_and_expired(lab: Lab) -> None:
    import os

    lab.controls.token_lifetime_s = 3
    lab.controls.set_fault("entra", latency_s=0.2)

    async def scenario() -> tuple[set[str], set[str]]:
        async with aio.GoogleFederatedCredential(
            google_to_azure_settings(), connection_verify=os.environ["LAB_CA_FILE"]
        ) as credential:
            cold = await asyncio.gather(*(credential.get_token(STORAGE_SCOPE) for _ in range(CALLERS)))
            assert (lab.counts()["gcp.metadata.identity"], lab.counts()["entra.token"]) == (1, 1)
            held = credential.token_holder(STORAGE_SCOPE).held
            assert held is not None
            await asyncio.sleep(max(0.0, held.window.usable_until - time.time()) + 0.05)
            expired = await asyncio.gather(*(credential.get_token(STORAGE_SCOPE) for _ in range(CALLERS)))
            return {fingerprint(t.token) for t in cold}, {fingerprint(t.token) for t in expired}

    cold, expired = asyncio.run(scenario())

    assert len(cold) == 1 and len(expired) == 1 and cold != expired
    assert (lab.counts()["gcp.metadata.identity"], lab.counts()["entra.token"]) == (2, 2)


class GatedIdTokens(MetadataIdTokens, Gate):
    """Metadata-server ID tokens behind a gate."""

    def __init__(self) -> None:
        MetadataIdTokens.__init__(self)
        Gate.__init__(self)

    def get_id_token(self, audience: str, request: Any) -> str:
        self.pass_or_wait()
        return super().get_id_token(audience, request)


def test_azure_credential_refreshes_in_the_background(lab: Lab) -> None:
    id_tokens = GatedIdTokens()
    credential = GoogleFederatedCredential(google_to_azure_settings(), id_tokens=id_tokens, timing=ALWAYS_DUE)
    first = azure_token(credential)

    second = azure_token(credential)
    assert id_tokens.blocked.wait(10), "no background refresh started"
    during = all_at_once(lambda: azure_token(credential), callers=16)

    assert second == first and set(during) == {first}
    id_tokens.gate.set()
    credential.token_holder(STORAGE_SCOPE).join_background(10)
    assert azure_token(credential) != first
    assert lab.counts()["entra.token"] == 2


def test_async_background_refresh_never_blocks_the_loop(lab: Lab) -> None:
    import os

    id_tokens = GatedIdTokens()

    async def scenario() -> tuple[str, set[str], str]:
        async with aio.GoogleFederatedCredential(
            google_to_azure_settings(),
            id_tokens=id_tokens,
            timing=ALWAYS_DUE,
            connection_verify=os.environ["LAB_CA_FILE"],
        ) as credential:
            first = fingerprint((await credential.get_token(STORAGE_SCOPE)).token)
            await credential.get_token(STORAGE_SCOPE)  # starts the background refresh
            while not id_tokens.blocked.is_set():  # the ID token fetch runs in a thread; the loop stays free
                await asyncio.sleep(0.01)
            during = {fingerprint((await credential.get_token(STORAGE_SCOPE)).token) for _ in range(CALLERS)}
            id_tokens.gate.set()
            await credential.token_holder(STORAGE_SCOPE).join_background()
            return first, during, fingerprint((await credential.get_token(STORAGE_SCOPE)).token)

    first, during, after = asyncio.run(scenario())

    assert during == {first} and after != first
