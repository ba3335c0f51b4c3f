"""``federation doctor`` and ``federation token`` against the lab, and the per-hop traces.

Healthy: every hop ok, exit 0, claims shown, no token. Broken: for every case of the
misconfiguration matrix, doctor stops at the hop a caller of the function would see fail and
names the setting or binding to change.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios.misconfigurations import CLOUD_FUNCTION, MISCONFIGURATIONS, Misconfiguration
from shared import doctor
from shared.doctor import cli
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings, make_mistake
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig
FUNCTION_ONLY = {"BIGQUERY_PROJECT"}  # a function's own setting: doctor checks the federation's


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def azure_side(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    apply_settings(monkeypatch, {**function_app_settings(lab), **FAST_RETRIES})


@pytest.fixture
def google_side(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES})


def test_healthy_azure_to_google(lab: Lab, azure_side: None) -> None:
    code, output = run_cli("doctor", "azure-to-google")

    assert code == 0, output
    assert [line.split()[1] for line in output.splitlines() if line.startswith("  ok")] == [
        "settings", "azure.token", "gcp.sts", "gcp.iam", "google.data",
    ]  # fmt: skip
    assert "FAIL" not in output and output.rstrip().endswith("every hop is healthy")
    assert "oid=f05f6870-59ca-4eea-80cc-dd54307d89de" in output and "iss=https://sts.windows.net/" in output
    assert not any(secret in output for secret in lab.minted())


def test_healthy_google_to_azure_as_json(lab: Lab, google_side: None) -> None:
    code, output = run_cli("doctor", "google-to-azure", "--json")

    report = json.loads(output)
    assert code == 0 and report["ok"] is True
    assert [hop["hop"] for hop in report["hops"]] == ["settings", "gcp.id_token", "entra.token", "azure.data"]
    id_token = report["hops"][1]["claims"]
    assert (id_token["iss"], id_token["sub"]) == ("https://accounts.google.com", "578801583304294727810")
    assert not any(secret in output for secret in lab.minted())


@pytest.mark.parametrize("case", MISCONFIGURATIONS, ids=lambda case: case.key)
def test_doctor_names_the_failing_hop_and_the_fix(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, case: Misconfiguration
) -> None:
    make_mistake(lab, monkeypatch, case, **FAST_RETRIES)
    direction = doctor.GOOGLE_TO_AZURE if case.function == CLOUD_FUNCTION else doctor.AZURE_TO_GOOGLE

    verdicts = doctor.run(direction)

    failed = verdicts[-1]
    assert not failed.ok and all(v.ok for v in verdicts[:-1])
    assert failed.hop == case.hop, failed
    assert (failed.code or "") == case.upstream_code, failed
    said = f"{failed.detail} {failed.fix}"
    for name in set(case.names) - FUNCTION_ONLY:
        assert name in said, f"doctor should name {name!r}: {said}"


def test_a_failure_exits_non_zero_with_the_fix(lab: Lab, google_side: None) -> None:
    lab.edit_federated_credential(
        cloud_function_settings(lab)["AZURE_CLIENT_ID"], subject="someone@example.com"
    )

    code, output = run_cli("doctor", "google-to-azure")

    assert code == 1
    assert "FAIL entra.token" in output and "upstream: AADSTS70021" in output and "fix: " in output
    assert output.rstrip().endswith("failed at entra.token")


def test_token_prints_a_token_only_when_asked(lab: Lab, azure_side: None) -> None:
    code, output = run_cli("token", "azure-to-google")

    assert code == 0
    assert output.strip() in lab.minted()


# -- doctor reads the function's settings as the function does ----------------------------


def test_a_bad_function_setting_fails_doctor_and_the_function_alike(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, azure_side: None
) -> None:
    monkeypatch.setenv("BIGQUERY_TIMEOUT_S", "0")

    verdict = doctor.run(doctor.AZURE_TO_GOOGLE)[-1]
    status, body, _ = entrypoints.function_app(lab, monkeypatch)()

    assert (verdict.ok, verdict.hop) == (False, "settings") and "BIGQUERY_TIMEOUT_S" in verdict.detail
    assert status == 500 and body["error"]["settings"] == ["BIGQUERY_TIMEOUT_S"]


def test_doctor_finds_the_job_project_where_the_function_does(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, azure_side: None
) -> None:
    project = function_app_settings(lab)["BIGQUERY_PROJECT"]
    monkeypatch.delenv("BIGQUERY_PROJECT")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)  # the function's fallback

    verdicts = doctor.run(doctor.AZURE_TO_GOOGLE)

    assert all(v.ok for v in verdicts) and verdicts[-1].hop == "google.data"
    assert f"project {project}" in verdicts[-1].detail


# -- per-hop traces ---------------------------------------------------------------------------


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = trace._TRACER_PROVIDER  # the global is set once per process; swap it for this test
    trace._TRACER_PROVIDER = provider
    try:
        yield exporter
    finally:
        trace._TRACER_PROVIDER = previous


def test_one_log_record_and_one_span_per_hop(
    lab: Lab, azure_side: None, caplog: pytest.LogCaptureFixture, spans: InMemorySpanExporter
) -> None:
    caplog.set_level(logging.INFO, logger="shared.tracing")

    assert all(v.ok for v in doctor.run(doctor.AZURE_TO_GOOGLE))

    records = [r.json_fields for r in caplog.records if r.name == "shared.tracing"]  # type: ignore[attr-defined]
    hops = [(r["hop"], r["outcome"]) for r in records]
    assert ("azure.token", "ok") in hops and ("gcp.sts", "ok") in hops and ("gcp.iam", "ok") in hops
    for record in records:
        assert record["duration_ms"] >= 0 and "?" not in record["endpoint"]
    sts = next(r for r in records if r["hop"] == "gcp.sts")
    assert sts["status"] == 200 and sts["endpoint"].endswith("/v1/token")
    names = [span.name for span in spans.get_finished_spans()]
    assert {"federation azure.token", "federation gcp.sts", "federation gcp.iam"} <= set(names)


def test_a_refused_hop_is_traced_with_its_status_and_correlation_id(
    lab: Lab, google_side: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.tracing")
    lab.edit_federated_credential(
        cloud_function_settings(lab)["AZURE_CLIENT_ID"], subject="someone@example.com"
    )

    doctor.run(doctor.GOOGLE_TO_AZURE)

    entra = [
        r.json_fields  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "shared.tracing" and r.json_fields["hop"] == "entra.token"  # type: ignore[attr-defined]
    ]
    assert entra and entra[-1]["outcome"] == "refused" and entra[-1]["correlation_id"]


def test_claims_are_checked_against_terraform_outputs(lab: Lab, google_side: None, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    account = lab.topology.service_account(lab.topology.runtime.metadata_service_account)
    assert account is not None
    outputs.write_text(json.dumps({"cloud_function_service_account_unique_id": {"value": account.unique_id}}))
    assert run_cli("doctor", "google-to-azure", "--terraform-outputs", str(outputs))[0] == 0

    outputs.write_text(
        json.dumps({"cloud_function_service_account_unique_id": {"value": "104958208263544813960"}})
    )
    code, output = run_cli("doctor", "google-to-azure", "--terraform-outputs", str(outputs))

    assert code == 1
    assert "FAIL gcp.id_token" in output and "104958208263544813960" in output and "entra.token" not in output
