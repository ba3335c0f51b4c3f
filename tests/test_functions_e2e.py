"""Both functions over real HTTP, served by their hosts, against the lab.

The Cloud Function runs under functions-framework and the Function App under the local
Functions host, each in its own process with only its application settings. Instances that
must start cold (a refusal or an outage of a federation hop) are started per test; the
others are shared by the session, as a warm instance serves many requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from lab.core.runtime import Lab
from lab.hosting.functions import FunctionProcess, cloud_function_settings, function_app_settings, process_env
from tests.support.entrypoints import assert_no_token
from tests.support.federation import CLOUD_FUNCTION_SA, expected_top_names, seeded_blob_names
from tests.support.retries import FAST_FUNCTION_RETRIES
from tests.support.topology_edits import drop_binding, replace_blob_reader_fic

pytestmark = pytest.mark.e2e
TIMEOUT_S = 30


@pytest.fixture(autouse=True)
def no_token_in_function_output(
    lab: Lab, cloud_function: FunctionProcess, function_app: FunctionProcess
) -> Iterator[None]:
    """Fail the test if a token or secret the lab handed out appears in either function's output."""
    yield
    leaked = [p.url for p in (cloud_function, function_app) if any(s in p.output for s in lab.minted())]
    assert not leaked, f"a token appeared in the logs of {leaked}"


@pytest.fixture
def cold_function_app(lab: Lab, function_key: str) -> Iterator[FunctionProcess]:
    """A Function App instance that has fetched no token yet (started after the test's lab edits)."""
    env = process_env(
        lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=function_key, **FAST_FUNCTION_RETRIES
    )
    process = FunctionProcess.function_app(env)
    yield process
    process.stop()
    assert not any(secret in process.output for secret in lab.minted())


@pytest.fixture
def cold_cloud_function(lab: Lab) -> Iterator[FunctionProcess]:
    env = process_env(lab, cloud_function_settings(lab), **FAST_FUNCTION_RETRIES)
    process = FunctionProcess.cloud_function(env)
    yield process
    process.stop()
    assert not any(secret in process.output for secret in lab.minted())


def get(process: FunctionProcess, key: str | None = None, **params: str) -> requests.Response:
    headers = {"x-functions-key": key} if key else {}
    response = requests.get(process.url, params=params, headers=headers, timeout=TIMEOUT_S)
    assert_no_token(LAB, response.text, str(response.headers))
    return response


@pytest.fixture(autouse=True)
def _remember_lab(lab: Lab) -> None:
    global LAB
    LAB = lab


LAB: Lab


# -- success and paging -----------------------------------------------------------------------


def test_cloud_function_pages_through_every_blob(lab: Lab, cloud_function: FunctionProcess) -> None:
    names: list[str] = []
    pages = 0
    params = {"max_results": "2"}
    while True:
        response = get(cloud_function, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["blobs"]) <= 2
        names += [blob["name"] for blob in body["blobs"]]
        pages += 1
        if not body["next_page_token"]:
            break
        params = {"max_results": "2", "page_token": body["next_page_token"]}

    assert names == seeded_blob_names(lab)
    assert pages == 2
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"


def test_cloud_function_filters_by_prefix(lab: Lab, cloud_function: FunctionProcess) -> None:
    body = get(cloud_function, prefix="2026/").json()

    assert [blob["name"] for blob in body["blobs"]] == [
        n for n in seeded_blob_names(lab) if n.startswith("2026/")
    ]
    assert body["prefix"] == "2026/"


def test_function_app_runs_the_parameterized_query(
    lab: Lab, function_app: FunctionProcess, function_key: str
) -> None:
    response = get(function_app, function_key, query="top_names", state="TX", year="2021", limit="3")

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(row["name"], row["total"]) for row in body["rows"]] == expected_top_names(lab, "TX", 2021)
    assert body["parameters"] == {"state": "TX", "year": 2021}
    assert response.headers["Content-Type"].startswith("application/json")


def test_function_app_takes_the_key_as_header_or_code(
    function_app: FunctionProcess, function_key: str
) -> None:
    assert get(function_app).status_code == 401
    assert get(function_app, "not-the-key").status_code == 401
    assert get(function_app, code=function_key).status_code == 200
    assert get(function_app).text == ""  # the host's 401 carries no body, as in Azure


# -- the error contract -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "params", "parameter"),
    [
        ("cloud", {"container": "Not_A_Container"}, "container"),
        ("cloud", {"max_results": "5001"}, "max_results"),
        ("cloud", {"page_token": "garbage"}, "page_token"),
        ("app", {"query": "SELECT 1"}, "query"),
        ("app", {"query": "top_names", "state": "TX'--", "year": "2021"}, "state"),
        ("app", {"query": "top_names", "state": "TX", "year": "last year"}, "year"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    lab: Lab,
    cloud_function: FunctionProcess,
    function_app: FunctionProcess,
    function_key: str,
    which: str,
    params: dict[str, str],
    parameter: str,
) -> None:
    process, key = (cloud_function, None) if which == "cloud" else (function_app, function_key)
    lab.controls.reset_counts()

    response = get(process, key, **params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["parameter"]) == ("invalid_parameter", parameter)
    assert "Traceback" not in response.text
    assert lab.counts() == {}, "a bad request must not reach any cloud endpoint"


def test_data_plane_refusal_is_403_with_the_role_to_grant(cloud_function: FunctionProcess) -> None:
    response = get(cloud_function, container="invoices")  # the app's role covers "reports" only

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["upstream_code"] == "AuthorizationPermissionMismatch"
    assert "Storage Blob Data Reader" in error["fix"]


def test_federation_refusal_is_403_with_the_principal_to_bind(
    lab: Lab, cold_function_app: FunctionProcess, function_key: str
) -> None:
    drop_binding(lab, "roles/iam.workloadIdentityUser")
    cold_function_app.start().wait_ready()

    response = get(cold_function_app, function_key)

    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["hop"]) == ("federation_refused", "gcp.iam")
    principal = "workloadIdentityPools/azure-federation/subject/f05f6870-59ca-4eea-80cc-dd54307d89de"
    assert principal in error["fix"] and "roles/iam.workloadIdentityUser" in error["fix"]


def test_entra_refusal_reaches_the_caller_translated(lab: Lab, cold_cloud_function: FunctionProcess) -> None:
    replace_blob_reader_fic(lab, subject=CLOUD_FUNCTION_SA)
    cold_cloud_function.start().wait_ready()

    error = get(cold_cloud_function).json()["error"]

    assert (error["hop"], error["upstream_code"]) == ("entra.token", "AADSTS70021")
    assert "unique ID" in error["fix"]


def test_data_plane_outage_is_503_with_retry_after(lab: Lab, cloud_function: FunctionProcess) -> None:
    assert get(cloud_function).status_code == 200  # warm: the Azure token is held
    lab.controls.set_fault("azure.blob", down_for_s=60)

    response = get(cloud_function)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "unavailable"


def test_federation_outage_is_503_with_retry_after(
    lab: Lab, cold_function_app: FunctionProcess, function_key: str
) -> None:
    lab.controls.set_fault("gcp.sts", down_for_s=60)
    cold_function_app.start().wait_ready()

    response = get(cold_function_app, function_key)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert (error["code"], error["hop"]) == ("unavailable", "gcp.sts")
    assert lab.counts()["gcp.sts.token"] >= 2, "the exchange was retried before giving up"


def test_bigquery_outage_is_503(lab: Lab, function_app: FunctionProcess, function_key: str) -> None:
    assert get(function_app, function_key).status_code == 200
    lab.controls.set_fault("gcp.bigquery", down_for_s=60)

    response = get(function_app, function_key)

    assert response.status_code == 503
    assert "Retry-After" in response.headers


# -- logs -------------------------------------------------------------------------------------


def test_cloud_function_logs_are_cloud_logging_json(cloud_function: FunctionProcess) -> None:
    get(cloud_function, max_results="0")
    get(cloud_function)

    ours = [json.loads(line) for line in cloud_function.log_lines() if line.startswith("{")]
    requests_logged = [entry for entry in ours if "httpRequest" in entry]
    assert {entry["httpRequest"]["status"] for entry in requests_logged} >= {200, 400}
    for entry in requests_logged:
        assert entry["severity"] in {"INFO", "WARNING", "ERROR"}
        assert entry["request_id"]
    failed = [entry for entry in requests_logged if entry["httpRequest"]["status"] == 400][-1]
    assert failed["severity"] == "WARNING" and failed["error"]["parameter"] == "max_results"
