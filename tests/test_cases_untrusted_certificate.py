"""Real-world case (kind 4, fixes that name what the user controls): a CA bundle that does not hold the
endpoint's CA.

Found by a newcomer's run of the README: this machine (like many corporate images) sets
``REQUESTS_CA_BUNDLE`` system-wide, so the lab's CA was ignored and every call failed TLS verification;
the product retried each hop to its deadline and answered 503 "check that gcp.sts is reachable".
requests verifies against ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when set, else certifi
(https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification), and azure-core's
requests transport and google-auth's both go through it. A certificate that is not trusted fails the
same way every time: it is a setting to fix (500 misconfigured naming ``REQUESTS_CA_BUNDLE`` and the
hop), never retried.
"""

from __future__ import annotations

import logging

import certifi
import pytest

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig

PUBLIC_CAS_ONLY = {"REQUESTS_CA_BUNDLE": certifi.where(), "CURL_CA_BUNDLE": certifi.where()}


def test_the_function_app_names_the_ca_bundle_when_sts_is_not_trusted(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    apply_settings(monkeypatch, {**function_app_settings(lab), **FAST_RETRIES, **PUBLIC_CAS_ONLY})

    with caplog.at_level(logging.WARNING):
        status, body, _ = entrypoints.function_app(lab, monkeypatch)()

    error = body["error"]
    assert (status, error["code"], error["settings"]) == (500, "misconfigured", ["REQUESTS_CA_BUNDLE"]), error
    assert "CERTIFICATE_VERIFY_FAILED" in error["message"]
    assert any(hop in error["message"] for hop in ("azure.msi", "gcp.sts")), error["message"]
    assert not [r for r in caplog.records if r.name == "shared.retry"], (
        "an untrusted certificate is not retried"
    )
    # Nor by urllib3 under us: BigQuery's AuthorizedSession refreshes through a session that mounts
    # HTTPAdapter(max_retries=3) (google/auth/transport/requests.py), which retried each attempt's
    # connection three more times ("Retrying (Retry(total=2 ..."), past the attempt timeout.
    assert not [r for r in caplog.records if r.name.startswith("urllib3") and "Retrying" in r.getMessage()]


def test_the_cloud_function_names_the_ca_bundle_when_entra_is_not_trusted(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sibling in the other direction: Entra's token endpoint, through azure-core's pipeline."""
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES, **PUBLIC_CAS_ONLY})

    response = entrypoints.cloud_function(lab).get("/")

    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["settings"]) == (
        500,
        "misconfigured",
        ["REQUESTS_CA_BUNDLE"],
    ), error
    assert "entra.token" in error["message"] and "CERTIFICATE_VERIFY_FAILED" in error["message"]
