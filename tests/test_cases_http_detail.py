"""Real-world case, kind 6: what an HTTP caller is shown — bounded, claim-free upstream text; the full
detail goes to the log; ``FEDERATION_ERROR_DETAIL=minimal`` limits bodies to code, hop and request ID.

The example: a provider attribute mapping that fails to evaluate (``assertion.sub.nosuch()``) put
~5 KB of the CEL evaluator's activation (its variables, the token's claims among them) into the
403 body. Google STS relays the evaluation error of a mapping or a condition in its
``error_description`` (https://cloud.google.com/iam/docs/workload-identity-federation#mapping,
"attribute mappings ... CEL"). The sibling found here: a custom attribute's mapping (not
``google.subject``) that fails to evaluate dumped the same way, and any long upstream text is cut. Default ``full`` (documented in ``shared.functions.http``): both
triggers require authentication, and tenant/object IDs and ``principal://`` members are what the
person fixing it needs; ``minimal`` is for functions untrusted callers can reach.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from lab.core.runtime import Lab
from lab.hosting.functions import function_app_settings
from lab.scenarios.misconfigurations import replace_provider
from shared.functions.http import MAX_SHOWN
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig
MANAGED_IDENTITY_OID = "f05f6870-59ca-4eea-80cc-dd54307d89de"


def call(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> tuple[int, dict[str, Any], str]:
    caplog.set_level(logging.INFO, logger="azure_function")
    status, body, _ = entrypoints.function_app(lab, monkeypatch)()
    logged = [
        json.dumps(getattr(r, "json_fields", {}))
        for r in caplog.records
        if r.name == "azure_function"
        and body["error"]["request_id"] in json.dumps(getattr(r, "json_fields", {}))
    ]
    assert logged, "the request's log line"
    return status, body["error"], logged[-1]


@pytest.mark.parametrize(
    "broken",
    [
        {"attribute_mapping": {"google.subject": "assertion.sub.nosuch()"}},  # the example
        {
            "attribute_mapping": {
                "google.subject": "assertion.sub",
                "attribute.tenant": "assertion.tid.nosuch()",
            }
        },
    ],
    ids=["google.subject", "custom-attribute"],
)
def test_an_evaluator_dump_stays_in_the_log(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, broken: dict[str, Any]
) -> None:
    apply_settings(monkeypatch, {**function_app_settings(lab), **FAST_RETRIES})
    replace_provider(lab, **broken)

    status, error, logged = call(lab, monkeypatch, caplog)

    assert status == 403 and error["hop"] == "gcp.sts"
    body = json.dumps(error)
    assert len(error["message"]) <= MAX_SHOWN and len(body) < 1500, len(body)
    assert "Activation" not in body and "NameContainer" not in body
    assert "evaluator detail in the function's log" in error["message"]
    assert "Activation" in logged, "the full upstream text is in the log line of the request"


def test_minimal_detail_shows_code_hop_and_request_id_only(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    apply_settings(
        monkeypatch, {**function_app_settings(lab), **FAST_RETRIES, "FEDERATION_ERROR_DETAIL": "minimal"}
    )
    replace_provider(lab, attribute_condition="assertion.oid == '0f0f0f0f-0000-4000-8000-000000000000'")

    status, error, logged = call(lab, monkeypatch, caplog)

    assert status == 403
    assert set(error) == {"status", "code", "hop", "request_id"}, error
    assert MANAGED_IDENTITY_OID not in json.dumps(error)
    assert MANAGED_IDENTITY_OID in logged and "attribute_condition" in logged


def test_a_detail_setting_that_means_nothing_is_refused(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    apply_settings(
        monkeypatch, {**function_app_settings(lab), **FAST_RETRIES, "FEDERATION_ERROR_DETAIL": "verbose"}
    )

    status, error, _ = call(lab, monkeypatch, caplog)

    assert (status, error["code"]) == (500, "misconfigured")  # shown at the minimum: the setting is invalid
    assert lab.counts().get("gcp.sts.token", 0) == 0


def test_claim_dictionaries_and_long_text_are_cut() -> None:
    from shared.functions.http import shown_text

    text = (
        "condition failed for {'iss': 'https://sts.windows.net/t/', 'oid': 'abc', 'tid': 't'} " + "x " * 400
    )
    shown = shown_text(text)
    assert "{claims}" in shown and "'oid'" not in shown and len(shown) <= MAX_SHOWN
