"""Both entrypoints in-process: the Cloud Function through Flask's test client, the Function App
through ``func.HttpRequest``, each with only its application settings, against the lab.

Each test loads a fresh copy of the entrypoint module, as a new instance would.
"""

from __future__ import annotations

import datetime
import sys

import azure.functions as func
import pytest
from flask.testing import FlaskClient

from lab.core.runtime import Lab
from lab.core.topology import RoleAssignment
from lab.hosting.functions import cloud_function_settings, function_app_settings
from tests.support import entrypoints
from tests.support.entrypoints import FunctionApp, apply_settings
from tests.support.federation import expected_top_names
from tests.support.topology_edits import drop_binding


@pytest.fixture
def cloud_function(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    apply_settings(monkeypatch, cloud_function_settings(lab))
    return entrypoints.cloud_function(lab)


@pytest.fixture
def function_app(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> FunctionApp:
    apply_settings(monkeypatch, function_app_settings(lab))
    return entrypoints.function_app(lab, monkeypatch)


# -- the Cloud Function -----------------------------------------------------------------------


@pytest.mark.fidelity
def test_blob_metadata_is_the_containers(lab: Lab, cloud_function: FlaskClient) -> None:
    body = cloud_function.get("/").get_json()

    seeded = {b.name: b for b in lab.topology.storage_containers[0].blobs}
    assert {blob["name"] for blob in body["blobs"]} == set(seeded)
    for blob in body["blobs"]:
        assert blob["size"] == len(seeded[blob["name"]].content.encode())
        assert blob["content_type"] == seeded[blob["name"]].content_type
        assert datetime.datetime.fromisoformat(blob["last_modified"]).tzinfo is not None
    assert body["container"] == "reports"


@pytest.mark.fidelity
def test_one_credential_and_client_per_instance(lab: Lab, cloud_function: FlaskClient) -> None:
    for _ in range(3):
        assert cloud_function.get("/").status_code == 200

    # Two round trips to sign in (no service-account lookup first), then one per request.
    assert lab.counts() == {"gcp.metadata.identity": 1, "entra.token": 1, "azure.blob": 3}
    main = sys.modules["main"]
    assert main.blob_service() is main.blob_service()


@pytest.mark.misconfig
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("container=ab", "container"),
        ("container=a--b", "container"),
        ("container=-abc", "container"),
        ("container=" + "a" * 64, "container"),
        ("container=reports&container=other", "container"),
        ("max_results=0", "max_results"),
        ("max_results=ten", "max_results"),
        ("prefix=" + "p" * 1025, "prefix"),
        ("prefix=a%00b", "prefix"),
        ("page_token=%%%", "page_token"),
        ("maxresults=5", "maxresults"),
    ],
)
def test_bad_listing_parameters(lab: Lab, cloud_function: FlaskClient, query: str, parameter: str) -> None:
    response = cloud_function.get(f"/?{query}")

    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == parameter
    assert lab.counts() == {}


@pytest.mark.misconfig
def test_page_token_of_another_prefix_is_refused(cloud_function: FlaskClient) -> None:
    token = cloud_function.get("/?max_results=1").get_json()["next_page_token"]

    response = cloud_function.get(f"/?max_results=1&prefix=2026/&page_token={token}")

    assert response.status_code == 400
    assert "same container and prefix" in response.get_json()["error"]["message"]


@pytest.mark.misconfig
def test_missing_settings_are_named(
    lab: Lab, cloud_function: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_CLIENT_ID")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", "devstoreaccount1")

    response = cloud_function.get("/")

    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "misconfigured"
    assert error["settings"] == ["AZURE_CLIENT_ID", "AZURE_STORAGE_ACCOUNT_URL"]
    assert lab.counts() == {}


@pytest.mark.misconfig
def test_missing_container_is_404(lab: Lab, cloud_function: FlaskClient) -> None:
    account_scope = lab.topology.role_assignments[0].scope.split("/blobServices/")[0]
    app_principal = lab.topology.role_assignments[0].principal_id
    lab.break_topology(
        role_assignments=[RoleAssignment(account_scope, "Storage Blob Data Reader", app_principal)]
    )

    response = cloud_function.get("/?container=no-such-container")

    assert response.status_code == 404
    assert response.get_json()["error"]["upstream_code"] == "ContainerNotFound"


def test_only_get_is_served(cloud_function: FlaskClient) -> None:
    response = cloud_function.post("/")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


# -- the Function App -------------------------------------------------------------------------


@pytest.mark.fidelity
def test_top_names_and_the_default_query(lab: Lab, function_app: FunctionApp) -> None:
    status, body, response = function_app(query="top_names", state="tx", year="2021", limit="2")
    assert status == 200
    assert [(row["name"], row["total"]) for row in body["rows"]] == expected_top_names(lab, "TX", 2021)[:2]
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"

    status, body, _ = function_app()
    assert status == 200
    assert body["query"] == "current_date"
    assert body["rows"] == [{"date": datetime.date.today().isoformat()}]


@pytest.mark.fidelity
def test_the_sql_is_fixed_and_values_travel_as_parameters(lab: Lab, function_app: FunctionApp) -> None:
    jobs = []
    for state in ("TX", "CA"):
        _, body, _ = function_app(query="top_names", state=state, year="2020")
        jobs.append(function_app.module.bigquery_client().get_job(body["job"]["job_id"], location="US"))

    assert jobs[0].query == jobs[1].query == function_app.module.QUERIES["top_names"].sql
    assert [{p.name: p.value for p in job.query_parameters} for job in jobs] == [
        {"state": "TX", "year": 2020},
        {"state": "CA", "year": 2020},
    ]


def test_every_trigger_requires_a_function_key(function_app: FunctionApp) -> None:
    triggers = [function.get_trigger() for function in function_app.functions]

    assert triggers
    assert all(trigger.auth_level == func.AuthLevel.FUNCTION for trigger in triggers)


@pytest.mark.misconfig
@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"query": "DROP TABLE x"}, "query"),
        ({"query": "top_names"}, "state"),
        ({"query": "top_names", "state": "ZZ"}, "state"),
        ({"query": "top_names", "state": "Texas"}, "state"),
        ({"query": "top_names", "state": "TX", "year": "1909"}, "year"),
        ({"query": "top_names", "state": "TX", "year": "2021.5"}, "year"),
        ({"query": "top_names", "state": "TX", "limit": "101"}, "limit"),
        ({"query": "current_date", "state": "TX"}, "state"),
        ({"sql": "SELECT 1"}, "sql"),
    ],
)
def test_bad_query_parameters(
    lab: Lab, function_app: FunctionApp, params: dict[str, str], parameter: str
) -> None:
    status, body, _ = function_app(**params)

    assert status == 400
    assert body["error"]["parameter"] == parameter
    assert lab.counts() == {}


@pytest.mark.misconfig
def test_missing_function_app_settings_are_named(
    lab: Lab, function_app: FunctionApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BIGQUERY_PROJECT")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("GCP_WORKLOAD_IDENTITY_PROVIDER")

    status, body, _ = function_app()

    assert status == 500
    assert body["error"]["settings"] == ["BIGQUERY_PROJECT", "GCP_WORKLOAD_IDENTITY_PROVIDER"]
    assert lab.counts() == {}


@pytest.mark.misconfig
def test_bigquery_refusal_says_which_roles(lab: Lab, function_app: FunctionApp) -> None:
    drop_binding(lab, "roles/bigquery.dataViewer", "projects/bigquery-public-data")

    status, body, _ = function_app(query="top_names", state="TX")

    assert status == 403
    error = body["error"]
    assert (error["code"], error["upstream_code"]) == ("upstream_forbidden", "accessDenied")
    assert "roles/bigquery.dataViewer" in error["fix"]


@pytest.mark.faults
def test_bigquery_retries_a_transient_failure(lab: Lab, function_app: FunctionApp) -> None:
    lab.controls.set_fault("gcp.bigquery.jobs.query", script=["503"])

    status, body, _ = function_app()

    assert status == 200, body
    assert lab.counts()["gcp.bigquery.jobs.query"] == 2
