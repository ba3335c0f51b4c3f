"""The lab's BigQuery: REST v2 wire format, IAM checks, SQL on DuckDB, and the real client.

Most tests drive the Flask app in-process; the ``client`` tests run the unchanged
``google.cloud.bigquery.Client`` against the service on loopback HTTPS (trustme CA).

Over 300 lines of code on purpose: one short test per behaviour of the emulated API, sharing one
in-process service fixture; split by topic, each file would repeat that fixture.
"""

from __future__ import annotations

import collections
import csv
import datetime
import decimal
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from flask.testing import FlaskClient
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import bigquery
from google.oauth2.credentials import Credentials

from lab.core.controls import Controls
from lab.core.keys import Keys
from lab.core.service import Service
from lab.core.topology import DEFAULT_TOPOLOGY, IamBinding, Topology, load
from lab.gcp import bigquery as lab_bigquery
from lab.gcp.iam_policy import mint_access_token
from tests.support.federation import BQ_READER, PROJECT

pytestmark = pytest.mark.lab

READER = f"serviceAccount:{BQ_READER}"  # jobUser + dataViewer
ANALYST = f"serviceAccount:analyst@{PROJECT}.iam.gserviceaccount.com"  # jobUser only (added below)
STRANGER = "serviceAccount:stranger@elsewhere.iam.gserviceaccount.com"  # no roles
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
QUERIES = f"/bigquery/v2/projects/{PROJECT}/queries"
JOBS = f"/bigquery/v2/projects/{PROJECT}/jobs"
NAMES_SQL = (
    "SELECT name, SUM(number) AS total FROM `bigquery-public-data.usa_names.usa_1910_current` "
    "WHERE state = @state AND year = @year GROUP BY name ORDER BY total DESC LIMIT 5"
)
NAMED_PARAMS = [
    {"name": "state", "parameterType": {"type": "STRING"}, "parameterValue": {"value": "TX"}},
    {"name": "year", "parameterType": {"type": "INT64"}, "parameterValue": {"value": "2021"}},
]


class World:
    """Controls, keys, a swappable topology and the BigQuery service (started on loopback TLS)."""

    def __init__(self, tmp: Path) -> None:
        self.controls = Controls()
        self.keys = Keys()
        base = load()
        analyst = IamBinding(f"projects/{PROJECT}", "roles/bigquery.jobUser", (ANALYST,))
        self.base = base.evolve(iam_bindings=[*base.iam_bindings, analyst])
        self.topology = self.base
        self.service: Service = lab_bigquery.create(self.controls, self.keys, lambda: self.topology)
        ca = trustme.CA()
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
        self.ca_file = tmp / "lab-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.service.start(tls)

    def token(
        self, principal: str = READER, *, lifetime_s: int = 3600, scopes: list[str] | None = None
    ) -> str:
        return mint_access_token(
            self.keys,
            issuer="https://iamcredentials.googleapis.com",
            principal=principal,
            members=[principal],
            scopes=[CLOUD_PLATFORM] if scopes is None else scopes,
            now=self.controls.now(),
            lifetime_s=lifetime_s,
        )

    def headers(self, principal: str = READER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(principal)}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("bigquery"))
    yield w
    w.service.stop()


@pytest.fixture
def bq(world: World) -> Iterator[World]:
    """The module's world, with its base topology and a healthy, zero-count lab for each test."""
    world.topology = world.base
    world.controls.reset()
    yield world
    world.topology = world.base
    world.controls.reset()


@pytest.fixture
def http(bq: World) -> FlaskClient:
    return bq.service.app.test_client()


def run_query(
    http: FlaskClient, sql: str, principal: str = READER, world: World | None = None, **body: Any
) -> Any:
    assert world is not None
    return http.post(
        QUERIES, json={"query": sql, "useLegacySql": False, **body}, headers=world.headers(principal)
    )


def values(response: Any) -> list[list[Any]]:
    return [[cell["v"] for cell in row["f"]] for row in response.get_json().get("rows", [])]


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.get_json()["error"]
    return error


def expected_top_names(state: str, year: int, limit: int) -> list[tuple[str, int]]:
    """Computed from the sample CSV with the csv module, independently of DuckDB."""
    totals: collections.Counter[str] = collections.Counter()
    with (DEFAULT_TOPOLOGY.parent / "data" / "usa_names_sample.csv").open(
        newline="", encoding="utf-8"
    ) as handle:
        for row in csv.DictReader(handle):
            if row["state"] == state and int(row["year"]) == year:
                totals[row["name"]] += int(row["number"])
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


# -- wire format ----------------------------------------------------------------------------------------
def test_results_use_bigquery_wire_types(bq: World, http: FlaskClient) -> None:
    sql = (
        "SELECT 1 AS i, 1.5 AS f, TRUE AS b, 'x' AS s, DATE '2021-01-02' AS d, "
        "TIMESTAMP '2021-01-01 00:00:01.5+00' AS ts, DATETIME '2021-01-01 02:03:04' AS dt, "
        "CAST(NULL AS INT64) AS n, [1, 2] AS arr, STRUCT(1 AS a, 'z' AS b) AS st, "
        "CAST('1.50' AS NUMERIC) AS num, CURRENT_DATE()"
    )
    response = run_query(http, sql, world=bq, formatOptions={"useInt64Timestamp": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["kind"] == "bigquery#queryResponse" and body["jobComplete"] is True
    assert body["totalRows"] == "1"
    fields = body["schema"]["fields"]
    assert [(f["name"], f["type"], f["mode"]) for f in fields] == [
        ("i", "INTEGER", "NULLABLE"),
        ("f", "FLOAT", "NULLABLE"),
        ("b", "BOOLEAN", "NULLABLE"),
        ("s", "STRING", "NULLABLE"),
        ("d", "DATE", "NULLABLE"),
        ("ts", "TIMESTAMP", "NULLABLE"),
        ("dt", "DATETIME", "NULLABLE"),
        ("n", "INTEGER", "NULLABLE"),
        ("arr", "INTEGER", "REPEATED"),
        ("st", "RECORD", "NULLABLE"),
        ("num", "NUMERIC", "NULLABLE"),
        ("f0_", "DATE", "NULLABLE"),
    ]
    assert [(f["name"], f["type"]) for f in fields[9]["fields"]] == [("a", "INTEGER"), ("b", "STRING")]
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert values(response) == [
        [
            "1",
            "1.5",
            "true",
            "x",
            "2021-01-02",
            "1609459201500000",
            "2021-01-01T02:03:04",
            None,
            [{"v": "1"}, {"v": "2"}],
            {"f": [{"v": "1"}, {"v": "z"}]},
            "1.5",
            today,
        ]
    ]
    # Without useInt64Timestamp a TIMESTAMP is float seconds, as in BigQuery's old format.
    legacy = run_query(http, "SELECT TIMESTAMP '2021-01-01 00:00:01.5+00' AS ts", world=bq)
    assert float(values(legacy)[0][0]) == 1609459201.5


def test_query_result_records_the_principal(bq: World, http: FlaskClient) -> None:
    response = run_query(http, "SELECT 1 AS x", world=bq)
    job_id = response.get_json()["jobReference"]["jobId"]
    job = http.get(f"{JOBS}/{job_id}", headers=bq.headers()).get_json()
    assert job["kind"] == "bigquery#job"
    assert job["id"] == f"{PROJECT}:US.{job_id}"
    assert job["user_email"] == "bq-reader@fedlab-analytics.iam.gserviceaccount.com"
    assert job["principal_subject"] == READER
    assert job["status"] == {"state": "DONE"}
    assert job["configuration"]["jobType"] == "QUERY"
    assert job["statistics"]["query"]["statementType"] == "SELECT"


# -- paging -------------------------------------------------------------------------------------------------
def test_max_results_zero_omits_rows(bq: World, http: FlaskClient) -> None:
    sql = "SELECT region FROM federation_demo.regional_sales"
    first = run_query(http, sql, world=bq, maxResults=0)
    assert first.status_code == 200
    assert "rows" not in first.get_json() and "pageToken" not in first.get_json()
    assert first.get_json()["totalRows"] == "3"
    job_id = first.get_json()["jobReference"]["jobId"]
    results = http.get(f"{QUERIES}/{job_id}?maxResults=0&location=US&timeoutMs=10000", headers=bq.headers())
    body = results.get_json()
    assert results.status_code == 200
    assert body["kind"] == "bigquery#getQueryResultsResponse" and body["jobComplete"] is True
    assert "rows" not in body and "pageToken" not in body
    assert body["totalRows"] == "3" and [f["name"] for f in body["schema"]["fields"]] == ["region"]
    everything = http.get(f"{QUERIES}/{job_id}", headers=bq.headers())
    assert len(values(everything)) == 3


def test_get_query_results_pages_with_token_and_start_index(bq: World, http: FlaskClient) -> None:
    sql = "SELECT region, orders FROM federation_demo.regional_sales ORDER BY orders DESC"
    first = run_query(http, sql, world=bq, maxResults=2)
    assert values(first) == [["westeurope", "512"], ["northeurope", "388"]]
    token = first.get_json()["pageToken"]
    job_id = first.get_json()["jobReference"]["jobId"]
    second = http.get(f"{QUERIES}/{job_id}?maxResults=2&pageToken={token}", headers=bq.headers())
    assert values(second) == [["eastus", "384"]] and "pageToken" not in second.get_json()
    indexed = http.get(f"{QUERIES}/{job_id}?startIndex=1&maxResults=1", headers=bq.headers())
    assert values(indexed) == [["northeurope", "388"]] and indexed.get_json()["pageToken"] == "2"


# -- authentication and authorization ----------------------------------------------------------------------
def test_missing_invalid_or_expired_token_is_401(bq: World, http: FlaskClient) -> None:
    body = {"query": "SELECT 1", "useLegacySql": False}
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {bq.token(lifetime_s=-10)}"},
    ):
        response = http.post(QUERIES, json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="https://accounts.google.com/"'
        error = error_of(response)
        assert error["status"] == "UNAUTHENTICATED" and error["errors"][0]["reason"] == "authError"
    assert "expired" in error["message"]


def test_token_without_a_bigquery_scope_is_refused(bq: World, http: FlaskClient) -> None:
    token = bq.token(scopes=["https://www.googleapis.com/auth/devstorage.read_only"])
    response = http.post(
        QUERIES,
        json={"query": "SELECT 1", "useLegacySql": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert error_of(response)["errors"][0]["reason"] == "insufficientPermissions"


def test_unknown_project_is_404(bq: World, http: FlaskClient) -> None:
    response = http.post(
        "/bigquery/v2/projects/no-such-project/queries",
        json={"query": "SELECT 1", "useLegacySql": False},
        headers=bq.headers(),
    )
    assert response.status_code == 404
    assert error_of(response)["message"] == "Not found: Project no-such-project"
    assert error_of(response)["errors"][0]["reason"] == "notFound"


def test_creating_a_job_needs_job_user(bq: World, http: FlaskClient) -> None:
    response = run_query(http, "SELECT 1", STRANGER, world=bq)
    assert response.status_code == 403
    error = error_of(response)
    assert error["message"] == (
        f"Access Denied: Project {PROJECT}: User does not have bigquery.jobs.create permission in project {PROJECT}."
    )
    assert error["status"] == "PERMISSION_DENIED" and error["errors"][0]["reason"] == "accessDenied"
    # The project number names the project too.
    by_number = http.post(
        "/bigquery/v2/projects/654689386374/queries",
        json={"query": "SELECT 1 AS x", "useLegacySql": False},
        headers=bq.headers(),
    )
    assert by_number.status_code == 200 and by_number.get_json()["jobReference"]["projectId"] == PROJECT


def test_reading_a_table_needs_data_viewer(bq: World, http: FlaskClient) -> None:
    denied = run_query(
        http, "SELECT * FROM `fedlab-analytics.federation_demo.regional_sales`", ANALYST, world=bq
    )
    table = f"{PROJECT}:federation_demo.regional_sales"
    assert denied.status_code == 403
    assert error_of(denied)["message"] == (
        f"Access Denied: Table {table}: User does not have permission to query table {table}, "
        "or perhaps it does not exist."
    )
    assert error_of(denied)["errors"][0]["reason"] == "accessDenied"
    # bigquery-public-data.usa_names is bound to allAuthenticatedUsers.
    public = run_query(
        http, "SELECT COUNT(*) AS n FROM bigquery-public-data.usa_names.usa_1910_current", ANALYST, world=bq
    )
    assert public.status_code == 200 and values(public) == [["240"]]


def test_unknown_and_unqualified_tables(bq: World, http: FlaskClient) -> None:
    missing = run_query(http, "SELECT * FROM federation_demo.nope", world=bq)
    assert missing.status_code == 404
    assert error_of(missing)["message"] == (
        f"Not found: Table {PROJECT}:federation_demo.nope was not found in location US"
    )
    unqualified = run_query(http, "SELECT * FROM regional_sales", world=bq)
    assert (
        unqualified.status_code == 400
        and "must be qualified with a dataset" in error_of(unqualified)["message"]
    )
    default = run_query(
        http,
        "WITH big AS (SELECT * FROM regional_sales WHERE orders > 385) SELECT region FROM big ORDER BY region",
        world=bq,
        defaultDataset={"projectId": PROJECT, "datasetId": "federation_demo"},
    )
    assert default.status_code == 200, default.get_json()
    assert values(default) == [["northeurope"], ["westeurope"]]


# -- SQL -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM federation_demo.regional_sales WHERE TRUE",
        "INSERT INTO federation_demo.regional_sales VALUES ('x', 1, 1.0)",
        "CREATE TABLE federation_demo.t (x INT64)",
        "DROP TABLE federation_demo.regional_sales",
        "SELECT 1; DELETE FROM federation_demo.regional_sales WHERE TRUE",
    ],
)
def test_only_select_runs(bq: World, http: FlaskClient, sql: str) -> None:
    response = run_query(http, sql, world=bq)
    assert response.status_code == 400
    error = error_of(response)
    assert error["status"] == "INVALID_ARGUMENT" and error["errors"][0]["reason"] == "invalidQuery"
    assert "only SELECT is supported in the lab" in error["message"]
    assert values(run_query(http, "SELECT COUNT(*) FROM federation_demo.regional_sales", world=bq)) == [["3"]]


def test_syntax_errors_legacy_sql_and_file_access_are_invalid(bq: World, http: FlaskClient) -> None:
    syntax = run_query(http, "SELEC 1", world=bq)
    assert syntax.status_code == 400 and error_of(syntax)["message"].startswith("Syntax error:")
    assert "\x1b" not in error_of(syntax)["message"]
    unbound = run_query(http, "SELECT no_such_column FROM federation_demo.regional_sales", world=bq)
    assert unbound.status_code == 400 and error_of(unbound)["errors"][0]["reason"] == "invalidQuery"
    for legacy in ({"useLegacySql": True}, {}):
        response = http.post(QUERIES, json={"query": "SELECT 1", **legacy}, headers=bq.headers())
        assert response.status_code == 400 and "Legacy SQL" in error_of(response)["message"]
    files = run_query(http, "SELECT * FROM read_csv('/etc/passwd')", world=bq)
    assert files.status_code == 400 and error_of(files)["errors"][0]["reason"] == "invalidQuery"


def test_named_positional_and_missing_parameters(bq: World, http: FlaskClient) -> None:
    named = run_query(http, NAMES_SQL, world=bq, parameterMode="NAMED", queryParameters=NAMED_PARAMS)
    assert named.status_code == 200, named.get_json()
    assert [(n, int(t)) for n, t in values(named)] == expected_top_names("TX", 2021, 5)
    positional = run_query(
        http,
        "SELECT ? AS a, ? AS b, ? AS c",
        world=bq,
        parameterMode="POSITIONAL",
        queryParameters=[
            {"parameterType": {"type": "INT64"}, "parameterValue": {"value": "7"}},
            {
                "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                "parameterValue": {"arrayValues": [{"value": "p"}, {"value": "q"}]},
            },
            {"parameterType": {"type": "DATE"}, "parameterValue": {"value": "2024-02-29"}},
        ],
    )
    assert positional.status_code == 200, positional.get_json()
    assert values(positional) == [["7", [{"v": "p"}, {"v": "q"}], "2024-02-29"]]
    assert [f["type"] for f in positional.get_json()["schema"]["fields"]] == ["INTEGER", "STRING", "DATE"]
    missing = run_query(http, "SELECT @x AS x", world=bq)
    assert missing.status_code == 400
    assert error_of(missing)["message"] == "Query parameter 'x' not found"
    assert error_of(missing)["errors"][0]["reason"] == "invalidQuery"


# -- jobs ----------------------------------------------------------------------------------------------------
def test_jobs_insert_then_get_query_results(bq: World, http: FlaskClient) -> None:
    insert = http.post(
        JOBS,
        json={
            "jobReference": {"projectId": PROJECT, "jobId": "lab-job_1", "location": "US"},
            "configuration": {
                "query": {"query": NAMES_SQL, "useLegacySql": False, "queryParameters": NAMED_PARAMS}
            },
        },
        headers=bq.headers(),
    )
    assert insert.status_code == 200, insert.get_json()
    job = insert.get_json()
    assert job["jobReference"] == {"projectId": PROJECT, "jobId": "lab-job_1", "location": "US"}
    assert job["status"] == {"state": "DONE"} and job["configuration"]["query"]["query"] == NAMES_SQL
    assert int(job["statistics"]["endTime"]) >= int(job["statistics"]["creationTime"]) > 0
    results = http.get(
        f"{QUERIES}/lab-job_1?location=US&formatOptions.useInt64Timestamp=True", headers=bq.headers()
    )
    assert [(n, int(t)) for n, t in values(results)] == expected_top_names("TX", 2021, 5)
    duplicate = http.post(
        JOBS,
        json={"jobReference": {"jobId": "lab-job_1"}, **{k: job[k] for k in ("configuration",)}},
        headers=bq.headers(),
    )
    assert duplicate.status_code == 409


def test_a_job_that_fails_after_creation_reports_its_error(bq: World, http: FlaskClient) -> None:
    insert = http.post(
        JOBS,
        json={
            "configuration": {
                "query": {"query": "SELECT * FROM federation_demo.regional_sales", "useLegacySql": False}
            }
        },
        headers=bq.headers(ANALYST),
    )
    assert insert.status_code == 200
    job = insert.get_json()
    assert job["jobReference"]["jobId"].startswith("job_")
    assert job["status"]["state"] == "DONE" and job["status"]["errorResult"]["reason"] == "accessDenied"
    job_id = job["jobReference"]["jobId"]
    assert http.get(f"{JOBS}/{job_id}", headers=bq.headers(ANALYST)).get_json()["status"] == job["status"]
    results = http.get(f"{QUERIES}/{job_id}", headers=bq.headers(ANALYST))
    assert results.status_code == 403 and "regional_sales" in error_of(results)["message"]


def test_jobs_get_unknown_or_someone_elses_job(bq: World, http: FlaskClient) -> None:
    unknown = http.get(f"{JOBS}/no-such-job?location=US", headers=bq.headers())
    assert unknown.status_code == 404
    assert error_of(unknown)["message"] == f"Not found: Job {PROJECT}:US.no-such-job"
    job_id = run_query(http, "SELECT 1 AS x", world=bq).get_json()["jobReference"]["jobId"]
    other = http.get(f"{JOBS}/{job_id}", headers=bq.headers(ANALYST))
    assert other.status_code == 403 and "bigquery.jobs.get" in error_of(other)["message"]
    cancel = http.post(f"{JOBS}/{job_id}/cancel", headers=bq.headers())
    assert cancel.status_code == 200 and cancel.get_json()["job"]["status"]["state"] == "DONE"


def test_topology_swap_reloads_tables_and_bindings(bq: World, http: FlaskClient) -> None:
    sql = "SELECT SUM(orders) AS total FROM federation_demo.regional_sales"
    assert values(run_query(http, sql, world=bq)) == [["1284"]]
    datasets = [
        d
        if d.dataset_id != "federation_demo"
        else type(d)(
            d.project_id,
            d.dataset_id,
            tuple(type(t)(t.table_id, t.schema, (("westeurope", 1, 1.0),)) for t in d.tables),
        )
        for d in bq.base.bigquery_datasets
    ]
    bindings = [b for b in bq.base.iam_bindings if b.role != "roles/bigquery.jobUser"]
    bq.topology = bq.base.evolve(bigquery_datasets=datasets)
    assert values(run_query(http, sql, world=bq)) == [["1"]]
    bq.topology = bq.base.evolve(iam_bindings=bindings)
    assert run_query(http, sql, world=bq).status_code == 403
    bq.topology = bq.base
    assert values(run_query(http, sql, world=bq)) == [["1284"]]


def test_hops_are_counted_and_take_faults(bq: World, http: FlaskClient) -> None:
    bq.controls.set_fault("gcp.bigquery.jobs.query", script=["503"])
    failed = run_query(http, "SELECT 1", world=bq)
    assert failed.status_code == 503 and error_of(failed)["status"] == "UNAVAILABLE"
    assert run_query(http, "SELECT 1 AS x", world=bq).status_code == 200
    assert bq.controls.counts()["gcp.bigquery.jobs.query"] == 2


# -- the real google-cloud-bigquery client over HTTPS -------------------------------------------------------
@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record and refuse any name resolution off loopback (google-auth background threads included)."""
    attempts: list[str] = []
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(name)
            raise OSError(f"loopback only: refused to resolve {name}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts
    assert attempts == [], f"the client tried to leave loopback: {attempts}"


@pytest.fixture
def client_for(
    bq: World, monkeypatch: pytest.MonkeyPatch, loopback_only: list[str]
) -> Callable[..., bigquery.Client]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bq.ca_file))

    def make(principal: str = READER, lifetime_s: int = 3600, **credential_options: Any) -> bigquery.Client:
        credentials = Credentials(bq.token(principal, lifetime_s=lifetime_s), **credential_options)
        return bigquery.Client(
            project=PROJECT, credentials=credentials, client_options={"api_endpoint": bq.service.url}
        )

    return make


def test_client_current_date(client_for: Callable[..., bigquery.Client]) -> None:
    rows = list(client_for().query("SELECT CURRENT_DATE() AS date").result())
    assert len(rows) == 1
    assert isinstance(rows[0]["date"], datetime.date)
    assert rows[0]["date"] == datetime.datetime.now(datetime.UTC).date()


def test_client_parameterized_query(bq: World, client_for: Callable[..., bigquery.Client]) -> None:
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("state", "STRING", "TX"),
            bigquery.ScalarQueryParameter("year", "INT64", 2021),
        ]
    )
    job = client_for().query(NAMES_SQL, job_config=config)
    rows = [(row["name"], row["total"]) for row in job.result()]
    assert rows == expected_top_names("TX", 2021, 5)
    assert len(rows) == 5 and all(isinstance(total, int) for _, total in rows)
    assert job.user_email == "bq-reader@fedlab-analytics.iam.gserviceaccount.com" and job.location == "US"
    assert bq.controls.counts().get("gcp.bigquery.jobs.insert") == 1


def test_client_query_and_wait_and_types(bq: World, client_for: Callable[..., bigquery.Client]) -> None:
    client = client_for()
    rows = client.query_and_wait(
        "SELECT region, orders FROM federation_demo.regional_sales ORDER BY orders DESC"
    )
    assert [tuple(row) for row in rows] == [("westeurope", 512), ("northeurope", 388), ("eastus", 384)]
    assert bq.controls.counts().get("gcp.bigquery.jobs.query") == 1
    typed = client.query_and_wait(
        "SELECT TIMESTAMP '2021-01-01 00:00:01.5+00' AS ts, DATETIME '2021-01-01 02:03:04' AS dt, "
        "[1, 2] AS arr, STRUCT(1 AS x) AS st, CAST('1.5' AS NUMERIC) AS num, 2.5 AS f, @flag AS flag",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("flag", "BOOL", True)]
        ),
    )
    assert [tuple(row) for row in typed] == [
        (
            datetime.datetime(2021, 1, 1, 0, 0, 1, 500000, tzinfo=datetime.UTC),
            datetime.datetime(2021, 1, 1, 2, 3, 4),
            [1, 2],
            {"x": 1},
            decimal.Decimal("1.5"),
            2.5,
            True,
        )
    ]


def test_client_pages_through_results(bq: World, client_for: Callable[..., bigquery.Client]) -> None:
    rows = client_for().query("SELECT * FROM federation_demo.regional_sales").result(page_size=2)
    pages = [[row["region"] for row in page] for page in rows.pages]
    assert pages == [["westeurope", "northeurope"], ["eastus"]]
    assert rows.total_rows == 3
    assert bq.controls.counts().get("gcp.bigquery.jobs.getQueryResults", 0) >= 2


def test_client_without_job_user_is_forbidden(client_for: Callable[..., bigquery.Client]) -> None:
    with pytest.raises(api_exceptions.Forbidden, match=r"bigquery\.jobs\.create"):
        client_for(STRANGER).query("SELECT 1").result()


def test_client_without_data_viewer_is_forbidden(client_for: Callable[..., bigquery.Client]) -> None:
    client = client_for(ANALYST)
    with pytest.raises(
        api_exceptions.Forbidden, match=r"Table fedlab-analytics:federation_demo\.regional_sales"
    ):
        client.query("SELECT * FROM federation_demo.regional_sales").result()
    with pytest.raises(api_exceptions.Forbidden, match=r"federation_demo\.regional_sales"):
        client.query_and_wait("SELECT * FROM federation_demo.regional_sales")


def test_client_with_expired_token_gets_401(bq: World, client_for: Callable[..., bigquery.Client]) -> None:
    # A bare token cannot be refreshed: on the 401 google-auth tries and raises RefreshError.
    with pytest.raises(auth_exceptions.RefreshError):
        client_for(lifetime_s=-10).query("SELECT 1").result()
    assert bq.controls.counts().get("gcp.bigquery.jobs.insert") == 1
    # A credential whose refresh hands back the same stale token surfaces the 401 itself.
    stale = bq.token(lifetime_s=-10)

    def same_token(request: Any, scopes: Any) -> tuple[str, datetime.datetime]:
        return stale, datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(hours=1)

    with pytest.raises(api_exceptions.Unauthorized, match="expired"):
        client_for(lifetime_s=-10, refresh_handler=same_token).query("SELECT 1").result()


def test_client_dml_and_ddl_are_rejected(client_for: Callable[..., bigquery.Client]) -> None:
    client = client_for()
    with pytest.raises(api_exceptions.BadRequest, match="only SELECT is supported"):
        client.query("DELETE FROM federation_demo.regional_sales WHERE TRUE").result()
    with pytest.raises(api_exceptions.BadRequest, match="only SELECT is supported"):
        client.query_and_wait("CREATE TABLE federation_demo.t (x INT64)")
    assert client.query_and_wait("SELECT COUNT(*) AS n FROM federation_demo.regional_sales").total_rows == 1


def test_default_topology_has_no_jobuser_for_the_analyst() -> None:
    """Guards the premise of the data-viewer tests: the analyst's jobUser comes from this module only."""
    topology: Topology = load()
    members = topology.members_with_role(f"projects/{PROJECT}", "roles/bigquery.jobUser")
    assert ANALYST not in members and READER in members
    assert READER in topology.members_with_role(
        f"projects/{PROJECT}/datasets/federation_demo", "roles/bigquery.dataViewer"
    )
