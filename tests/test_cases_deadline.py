"""Real-world case, kind 2: one deadline per request, across every layer.

The example: with ``entra.token`` down, a fresh Cloud Function answered 503 only after ~22 s
(deadline 10 s) and Entra saw 25 calls: azure-storage-blob's ``StorageRetryPolicy`` retries
every ``AzureError`` the credential raises except its own ``AzureSigningError``
(azure-storage-blob ``_shared/policies.py``), so each storage retry re-ran the credential's own
retries. azure-core's ``RetryPolicy`` does not: it re-raises ``ClientAuthenticationError`` because
"the credential has already retried its own request" (Azure/azure-sdk-for-python#6019, PR #6025).

Siblings found here: a refusal (unknown ``AZURE_CLIENT_ID``, AADSTS700016) was re-sent the same
way; the README's own Blob example, behind the storage SDK's default ``ExponentialRetry``
(15 s, then 18 s, 24 s between tries), had not failed after 30 s; and off Google Cloud (no
metadata server) google-auth's own metadata retries (``compute_engine/_metadata.py``: five
tries, exponential backoff, on every ``TransportError``) ran outside our deadline — one request
took ~83 s and answered 403 instead of 503.

Every hop of both functions down: each answer comes within deadline + one attempt timeout (plus
the instance's own cold-start cost, measured here on a healthy request), each hop is called at
most ``attempts`` times, and the error names the hop. Bounds, not benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from lab.core.processes import free_port
from lab.core.runtime import Lab
from lab.hosting.functions import (
    FunctionProcess,
    cloud_function_settings,
    function_app_settings,
    process_env,
)
from lab.scenarios.misconfigurations import UNKNOWN_GUID
from shared import errors
from shared.google_to_azure import GoogleFederatedCredential
from shared.settings import GoogleToAzureSettings
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings

pytestmark = pytest.mark.faults
DEADLINE_S, ATTEMPT_S, ATTEMPTS = 2.0, 1.0, 3
RETRIES = {
    "FEDERATION_RETRY_DEADLINE_S": str(DEADLINE_S),
    "FEDERATION_ATTEMPT_TIMEOUT_S": str(ATTEMPT_S),
    "FEDERATION_RETRY_ATTEMPTS": str(ATTEMPTS),
    "BIGQUERY_TIMEOUT_S": str(DEADLINE_S),
}


def calls(lab: Lab, hop: str) -> int:
    return sum(n for name, n in lab.counts().items() if name == hop or name.startswith(hop + "."))


def cloud_function_request(lab: Lab) -> tuple[float, int, dict[str, object]]:
    client = entrypoints.cloud_function(lab)
    started = time.monotonic()
    response = client.get("/")
    return time.monotonic() - started, response.status_code, response.get_json()


def function_app_request(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> tuple[float, int, dict[str, object]]:
    app = entrypoints.function_app(lab, monkeypatch)
    started = time.monotonic()
    status, body, _ = app()
    return time.monotonic() - started, status, body


def healthy_cold_request_s(lab: Lab, monkeypatch: pytest.MonkeyPatch, function: str) -> float:
    """What a new instance's first request costs when nothing fails (the bound's allowance)."""
    elapsed, status, _ = (
        cloud_function_request(lab)
        if function == "cloud_function"
        else function_app_request(lab, monkeypatch)
    )
    assert status == 200
    lab.reset()
    return elapsed


@pytest.mark.parametrize(
    ("function", "hop", "lab_hop"),
    [
        ("cloud_function", "entra.token", "entra"),  # the example
        ("cloud_function", "gcp.metadata", "gcp.metadata"),
        ("cloud_function", "azure.data", "azure.blob"),
        ("function_app", "azure.msi", "azure.msi"),
        ("function_app", "gcp.sts", "gcp.sts"),
        ("function_app", "gcp.iam", "gcp.iam"),
        ("function_app", "google.data", "gcp.bigquery"),
    ],
)
def test_a_hop_down_is_a_503_within_the_deadline_with_each_hop_called_at_most_attempts_times(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, function: str, hop: str, lab_hop: str
) -> None:
    healthy = cloud_function_settings(lab) if function == "cloud_function" else function_app_settings(lab)
    apply_settings(monkeypatch, {**healthy, **RETRIES})
    allowance = healthy_cold_request_s(lab, monkeypatch, function)
    lab.controls.set_fault(lab_hop, down_for_s=60)

    elapsed, status, body = (
        cloud_function_request(lab)
        if function == "cloud_function"
        else function_app_request(lab, monkeypatch)
    )

    error = body["error"]
    assert isinstance(error, dict)
    assert (status, error["code"], error["hop"]) == (503, "unavailable", hop), error
    assert elapsed <= DEADLINE_S + ATTEMPT_S + allowance, (elapsed, allowance)
    if hop != "google.data":  # BigQuery's client retries its own calls, inside BIGQUERY_TIMEOUT_S
        assert calls(lab, lab_hop) <= ATTEMPTS, lab.counts()


def test_a_refusal_is_sent_once_through_the_cloud_function(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **RETRIES, "AZURE_CLIENT_ID": UNKNOWN_GUID})

    _, status, body = cloud_function_request(lab)

    assert status == 403 and body["error"]["upstream_code"] == "AADSTS700016"  # type: ignore[index]
    assert calls(lab, "entra.token") == 1, lab.counts()


def test_the_readme_blob_example_with_the_storage_default_retry_fails_fast(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: ``BlobServiceClient(account_url, credential=GoogleFederatedCredential())``, nothing else."""
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **RETRIES, "AZURE_CLIENT_ID": UNKNOWN_GUID})
    service = BlobServiceClient(lab.blob_account_url, credential=GoogleFederatedCredential())

    started = time.monotonic()
    with pytest.raises(errors.EntraRefusal) as refused:
        list(service.get_container_client("reports").list_blobs())

    assert time.monotonic() - started <= DEADLINE_S + ATTEMPT_S
    assert refused.value.code == "AADSTS700016" and calls(lab, "entra.token") == 1


def test_an_outage_behind_the_storage_default_retry_is_one_deadline(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **RETRIES})
    service = BlobServiceClient(
        lab.blob_account_url, credential=GoogleFederatedCredential(GoogleToAzureSettings.from_env())
    )
    lab.controls.set_fault("entra", down_for_s=60)

    started = time.monotonic()
    with pytest.raises(errors.UpstreamUnavailable) as unavailable:
        list(service.get_container_client("reports").list_blobs())

    assert time.monotonic() - started <= DEADLINE_S + ATTEMPT_S
    assert unavailable.value.hop == "entra.token" and calls(lab, "entra.token") <= ATTEMPTS


@pytest.fixture
def no_metadata_server(lab: Lab) -> Iterator[FunctionProcess]:
    """The Cloud Function off Google Cloud: GCE_METADATA_HOST at a port where nothing listens
    (google-auth reads it at import, so this needs a process of its own)."""
    closed = f"127.0.0.1:{free_port()}"
    env = process_env(
        lab, cloud_function_settings(lab), GCE_METADATA_HOST=closed, GCE_METADATA_IP=closed, **RETRIES
    )
    with FunctionProcess.cloud_function(env) as process:  # `with` starts it and waits until it serves
        yield process
    assert not any(secret in process.output for secret in lab.minted())


def test_no_metadata_server_is_known_within_a_second_and_named(
    lab: Lab, no_metadata_server: FunctionProcess
) -> None:
    first = requests.get(no_metadata_server.url, timeout=60)
    started = time.monotonic()
    second = requests.get(no_metadata_server.url, timeout=60)
    elapsed = time.monotonic() - started

    for response in (first, second):
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["hop"]) == (503, "unavailable", "gcp.metadata"), (
            error
        )
        assert "GCE_METADATA_HOST" in error["message"], error
    assert elapsed < 1.0 + ATTEMPT_S / 2, elapsed
    assert calls(lab, "entra") == 0
