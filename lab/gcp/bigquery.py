"""BigQuery REST v2 as the lab needs it: query jobs over the topology's tables, run on DuckDB.

Hops (under ``gcp.bigquery``): ``jobs.insert``, ``jobs.get``, ``jobs.cancel``,
``jobs.getQueryResults`` and ``jobs.query``. Callers authenticate with a lab Google access
token. Creating a job needs ``bigquery.jobs.create`` on the job's project; reading a table
needs read access on its dataset (or project), as in BigQuery. GoogleSQL is translated by
sqlglot and run on one in-memory DuckDB database holding the topology's tables (project =
attached catalog, dataset = schema); only read-only queries run. Results use BigQuery's
JSON wire format, so ``google-cloud-bigquery`` parses them unchanged.

Types: BigQuery TIMESTAMP is DuckDB ``TIMESTAMPTZ`` and DATETIME is ``TIMESTAMP``, the pairing
sqlglot uses when it translates literals and casts.
"""

from __future__ import annotations

import base64
import copy
import datetime
import decimal
import hashlib
import math
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import sqlglot
from duckdb.sqltypes import DuckDBPyType
from flask import Response, request
from sqlglot import exp

from lab.core import wire_errors as errors
from lab.core.controls import Controls
from lab.core.keys import Keys
from lab.core.service import Service
from lab.core.topology import Topology
from lab.gcp.iam_policy import Identity, Unauthenticated, identity_from_header, is_member

LOCATION = "US"  # every dataset of the lab lives here
MAX_JOBS = 1000  # finished jobs kept for jobs.get / getQueryResults, oldest dropped first
SCOPES = frozenset(
    "https://www.googleapis.com/auth/" + s
    for s in ("bigquery", "bigquery.readonly", "cloud-platform", "cloud-platform.read-only")
)
JOB_CREATORS = (
    "roles/bigquery.jobUser",
    "roles/bigquery.user",
    "roles/bigquery.admin",
    "roles/owner",
    "roles/editor",
)
JOB_READERS = (
    "roles/bigquery.admin",
    "roles/bigquery.resourceAdmin",
    "roles/bigquery.resourceViewer",
    "roles/owner",
)
TABLE_READERS = (
    "roles/bigquery.dataViewer",
    "roles/bigquery.dataEditor",
    "roles/bigquery.dataOwner",
    "roles/bigquery.admin",
    "roles/owner",
    "roles/editor",
    "roles/viewer",
)
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,1024}")
_TO_DUCKDB = {
    "STRING": "VARCHAR",
    "INTEGER": "BIGINT",
    "INT64": "BIGINT",
    "FLOAT": "DOUBLE",
    "FLOAT64": "DOUBLE",
    "NUMERIC": "DECIMAL(38, 9)",
    "BIGNUMERIC": "DECIMAL(38, 9)",
    "BOOLEAN": "BOOLEAN",
    "BOOL": "BOOLEAN",
    "DATE": "DATE",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMPTZ",
    "TIME": "TIME",
    "BYTES": "BLOB",
}
_FROM_DUCKDB = {
    **dict.fromkeys(
        (
            "tinyint",
            "smallint",
            "integer",
            "bigint",
            "hugeint",
            "utinyint",
            "usmallint",
            "uinteger",
            "ubigint",
        ),
        "INTEGER",
    ),
    **dict.fromkeys(("float", "double"), "FLOAT"),
    **dict.fromkeys(("timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns"), "DATETIME"),
    "timestamp with time zone": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "time": "TIME",
    "decimal": "NUMERIC",
    "blob": "BYTES",
}
_EPOCH = datetime.datetime(1970, 1, 1)


class BigQueryError(Exception):
    """An error BigQuery reports: the HTTP code, its ``reason`` and message."""

    def __init__(self, code: int, reason: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.headers = code, reason, message, headers

    def response(self) -> Response:
        detail: dict[str, Any] = {"message": self.message, "domain": "global", "reason": self.reason}
        if self.code == 401:
            detail.update(message="Invalid Credentials", location="Authorization", locationType="header")
        return errors.google_api(self.code, self.message, errors=[detail], headers=self.headers)


@dataclass
class _Job:
    project: str
    job_id: str
    location: str
    principal: str
    configuration: dict[str, Any]
    created_ms: int
    ended_ms: int = 0
    fields: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    error: BigQueryError | None = None
    bytes_processed: int = 0

    @property
    def name(self) -> str:
        return f"{self.project}:{self.location}.{self.job_id}"


@dataclass
class _Plan:
    sql: str  # DuckDB SQL
    params: dict[str, Any]
    tables: list[tuple[str, str, str]]  # (project, dataset, table) as the query names them


def create(controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> Service:
    """The ``gcp.bigquery`` service; ``topology`` returns the current topology on every request."""
    service = Service("gcp.bigquery", controls, lambda status, message: errors.google_api(status, message))
    api = _BigQuery(controls, keys, topology)
    service.app.register_error_handler(BigQueryError, lambda exc: exc.response())
    base = "/bigquery/v2/projects/<project>"
    service.route(f"{base}/jobs", "jobs.insert", methods=["POST"])(api.insert)
    service.route(f"{base}/jobs/<job_id>", "jobs.get", methods=["GET"])(api.get)
    service.route(f"{base}/jobs/<job_id>/cancel", "jobs.cancel", methods=["POST"])(api.cancel)
    service.route(f"{base}/queries/<job_id>", "jobs.getQueryResults", methods=["GET"])(api.get_query_results)
    service.route(f"{base}/queries", "jobs.query", methods=["POST"])(api.query)
    # Close DuckDB with the service: native objects alive at interpreter exit make nanobind
    # print a "leaked" report on every stop.
    service.on_stop(api.close)
    return service


class _BigQuery:
    def __init__(self, controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> None:
        self._controls, self._keys, self._topology = controls, keys, topology
        self._warehouse = _Warehouse(topology)
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._warehouse.close()
        with self._lock:
            self._jobs.clear()

    # -- routes ---------------------------------------------------------------------------
    def insert(self, project: str) -> dict[str, Any]:
        body = _body()
        reference, configuration = (
            body.get("jobReference") or {},
            copy.deepcopy(body.get("configuration") or {}),
        )
        if "query" not in configuration:
            raise BigQueryError(
                400, "invalid", "The lab runs query jobs only: configuration.query is required."
            )
        job = self._run(
            project, reference.get("jobId"), reference.get("location"), configuration, store_error=True
        )
        return self._resource(job)

    def query(self, project: str) -> dict[str, Any]:
        body = _body()
        names = ("query", "useLegacySql", "queryParameters", "parameterMode", "defaultDataset")
        configuration: dict[str, Any] = {"query": {k: copy.deepcopy(body[k]) for k in names if k in body}}
        if body.get("dryRun"):
            configuration["dryRun"] = True
        job = self._run(project, None, body.get("location"), configuration, store_error=False)
        if body.get("dryRun"):
            # A dry run answers the schema and the bytes estimate, and no rows
            # (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query#request-body).
            return {"kind": "bigquery#queryResponse", "schema": {"fields": job.fields}, **_common(job)}
        try:
            max_results = None if body.get("maxResults") is None else int(body["maxResults"])
        except (TypeError, ValueError) as exc:
            raise BigQueryError(400, "invalid", f"Invalid maxResults: {body['maxResults']!r}") from exc
        int64 = bool((body.get("formatOptions") or {}).get("useInt64Timestamp"))
        page = _page(job, max_results, None, None, int64)
        return {"kind": "bigquery#queryResponse", **page, "queryId": job.job_id, **_common(job)}

    def get(self, project: str, job_id: str) -> dict[str, Any]:
        return self._resource(self._find(project, job_id))

    def cancel(self, project: str, job_id: str) -> dict[str, Any]:
        return {"kind": "bigquery#jobCancelResponse", "job": self._resource(self._find(project, job_id))}

    def get_query_results(self, project: str, job_id: str) -> dict[str, Any]:
        job = self._find(project, job_id)
        if job.error is not None:
            raise job.error
        args = request.args
        max_results = args.get("maxResults", type=int)
        int64 = args.get("formatOptions.useInt64Timestamp", "").lower() in ("true", "1")
        page = _page(job, max_results, args.get("pageToken"), args.get("startIndex", type=int), int64)
        return {"kind": "bigquery#getQueryResultsResponse", "etag": _etag(job), **page, **_common(job)}

    # -- jobs -----------------------------------------------------------------------------
    def _run(
        self,
        project: str,
        job_id: str | None,
        location: str | None,
        configuration: dict[str, Any],
        *,
        store_error: bool,
    ) -> _Job:
        """Authorize and run a query job; a later failure fails the job (insert) or the call (query)."""
        identity, project = self._caller(project)
        topology = self._topology()
        if not self._granted(identity, topology, [f"projects/{project}"], JOB_CREATORS):
            raise BigQueryError(
                403,
                "accessDenied",
                f"Access Denied: Project {project}: User does not have bigquery.jobs.create permission "
                f"in project {project}.",
            )
        job_id = job_id or f"job_{uuid.uuid4().hex}"
        if not _JOB_ID.fullmatch(job_id):
            raise BigQueryError(
                400,
                "invalid",
                f'Invalid job ID "{job_id}". Job IDs must be alphanumeric '
                "(plus underscores and dashes) and must be at most 1024 characters long.",
            )
        configuration["jobType"] = "QUERY"
        now_ms = int(self._controls.now() * 1000)
        job = _Job(project, job_id, location or LOCATION, identity.principal, configuration, now_ms)
        if configuration.get("dryRun"):
            return self._dry_run(identity, topology, job)
        with self._lock:
            if (project, job_id) in self._jobs:
                raise BigQueryError(409, "duplicate", f"Already Exists: Job {job.name}")
            self._jobs[(project, job_id)] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.pop(next(iter(self._jobs)))
        try:
            plan = _compile(configuration["query"], project)
            self._authorize_tables(identity, topology, plan, job.location)
            job.fields, job.rows = self._warehouse.run(plan)
        except BigQueryError as exc:
            job.error = exc
            if not store_error:
                raise
        finally:
            job.ended_ms = max(now_ms, int(self._controls.now() * 1000))
        return job

    def _dry_run(self, identity: Identity, topology: Topology, job: _Job) -> _Job:
        """Validate and estimate, run nothing and keep no job: a dry run "returns statistics
        about the job such as how many bytes would be processed"; an invalid query fails the
        call (https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfiguration,
        https://cloud.google.com/bigquery/docs/running-queries#dry-run)."""
        plan = _compile(job.configuration["query"], job.project)
        self._authorize_tables(identity, topology, plan, job.location)
        job.fields = self._warehouse.describe(plan)
        job.bytes_processed = _estimate_bytes(topology, plan, job.configuration["query"].get("query", ""))
        job.ended_ms = job.created_ms
        return job

    def _authorize_tables(self, identity: Identity, topology: Topology, plan: _Plan, location: str) -> None:
        for p, d, t in plan.tables:
            name = f"{p}:{d}.{t}"
            if not self._granted(
                identity, topology, [f"projects/{p}/datasets/{d}", f"projects/{p}"], TABLE_READERS
            ):
                raise BigQueryError(
                    403,
                    "accessDenied",
                    f"Access Denied: Table {name}: User does not have permission to query table {name}, "
                    "or perhaps it does not exist.",
                )
            known = any(
                ds.project_id == p and ds.dataset_id == d and any(tb.table_id == t for tb in ds.tables)
                for ds in topology.bigquery_datasets
            )
            if not known or location.upper() != LOCATION:
                raise BigQueryError(
                    404, "notFound", f"Not found: Table {name} was not found in location {location}"
                )

    def _find(self, project: str, job_id: str) -> _Job:
        identity, project = self._caller(project)
        with self._lock:
            job = self._jobs.get((project, job_id))
        name = f"{project}:{request.args.get('location') or LOCATION}.{job_id}"
        if job is None:
            raise BigQueryError(404, "notFound", f"Not found: Job {name}")
        if job.principal != identity.principal and not self._granted(
            identity, self._topology(), [f"projects/{project}"], JOB_READERS
        ):
            raise BigQueryError(
                403,
                "accessDenied",
                f"Access Denied: Job {job.name}: User does not have bigquery.jobs.get permission "
                f"for job {job.name}.",
            )
        return job

    def _caller(self, project: str) -> tuple[Identity, str]:
        """The authenticated caller and the project's id (the URL may carry its number)."""
        try:
            identity = identity_from_header(
                self._keys, self._controls.now(), request.headers.get("Authorization")
            )
        except Unauthenticated as exc:
            raise BigQueryError(
                401,
                "authError",
                str(exc),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            ) from exc
        if not SCOPES.intersection(identity.scopes):
            raise BigQueryError(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            )
        found = self._topology().project(project)
        if found is None:
            raise BigQueryError(404, "notFound", f"Not found: Project {project}")
        return identity, found.project_id

    @staticmethod
    def _granted(
        identity: Identity, topology: Topology, resources: list[str], roles: tuple[str, ...]
    ) -> bool:
        return any(
            is_member(identity, topology.members_with_role(r, role)) for r in resources for role in roles
        )

    def _resource(self, job: _Job) -> dict[str, Any]:
        status: dict[str, Any] = {"state": "DONE"}
        if job.error is not None:
            detail = {"reason": job.error.reason, "message": job.error.message}
            if job.error.reason == "invalidQuery":
                detail["location"] = "query"
            status.update(errorResult=detail, errors=[detail])
        processed = str(job.bytes_processed)
        query_stats: dict[str, Any] = {
            "totalBytesProcessed": processed,
            "totalBytesBilled": "0",
            "cacheHit": False,
        }
        if job.error is None:
            query_stats.update(statementType="SELECT", schema={"fields": job.fields})
        return {
            "kind": "bigquery#job",
            "etag": _etag(job),
            "id": job.name,
            "selfLink": f"{request.host_url}bigquery/v2/projects/{job.project}/jobs/{job.job_id}"
            f"?location={job.location}",
            "user_email": job.principal.split(":", 1)[1]
            if job.principal.startswith(("serviceAccount:", "user:"))
            else job.principal,
            "principal_subject": job.principal,
            "jobReference": _reference(job),
            "configuration": job.configuration,
            "status": status,
            "statistics": {
                "creationTime": str(job.created_ms),
                "startTime": str(job.created_ms),
                "endTime": str(job.ended_ms),
                "totalBytesProcessed": processed,
                "query": query_stats,
            },
        }


class _Warehouse:
    """The topology's tables in one in-memory DuckDB database, rebuilt when the topology changes."""

    def __init__(self, topology: Callable[[], Topology]) -> None:
        self._topology = topology
        self._lock = threading.Lock()  # a DuckDB connection is not for concurrent use
        self._loaded: Topology | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._connection()

    def run(self, plan: _Plan) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
        """Run a compiled query: BigQuery schema fields and the rows as Python values."""
        with self._lock:
            try:
                relation = self._connection().sql(plan.sql, params=plan.params or None)
                if relation is None:
                    raise BigQueryError(400, "invalidQuery", "The query returns no result set.")
                fields = [_field(n, t) for n, t in zip(relation.columns, relation.types, strict=True)]
                # DuckDB hands TIMESTAMPTZ to Python through pytz; UTC wall time needs nothing.
                zoned = [str(t).replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP") for t in relation.types]
                if any(z != str(t) for z, t in zip(zoned, relation.types, strict=True)):
                    relation = relation.project(
                        ", ".join(f"CAST(#{i + 1} AS {z})" for i, z in enumerate(zoned))
                    )
                return fields, relation.fetchall()
            except duckdb.Error as exc:
                raise BigQueryError(400, "invalidQuery", str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con, self._loaded = None, None

    def describe(self, plan: _Plan) -> list[dict[str, Any]]:
        """The result's schema without running the query (DuckDB binds it, fetches nothing)."""
        with self._lock:
            try:
                relation = self._connection().sql(plan.sql, params=plan.params or None)
                if relation is None:
                    raise BigQueryError(400, "invalidQuery", "The query returns no result set.")
                return [_field(n, t) for n, t in zip(relation.columns, relation.types, strict=True)]
            except duckdb.Error as exc:
                raise BigQueryError(400, "invalidQuery", str(exc)) from exc

    def _connection(self) -> duckdb.DuckDBPyConnection:
        topology = self._topology()
        if self._con is not None and topology is self._loaded:
            return self._con
        if self._con is not None:
            self._con.close()
        con = duckdb.connect(":memory:")
        for project in sorted({d.project_id for d in topology.bigquery_datasets}):
            con.execute(f"ATTACH ':memory:' AS {_quote(project)}")
        for dataset in topology.bigquery_datasets:
            schema = f"{_quote(dataset.project_id)}.{_quote(dataset.dataset_id)}"
            con.execute(f"CREATE SCHEMA {schema}")
            for table in dataset.tables:
                columns = ", ".join(f"{_quote(n)} {_TO_DUCKDB[t.upper()]}" for n, t in table.schema)
                con.execute(f"CREATE TABLE {schema}.{_quote(table.table_id)} ({columns})")
                if table.rows:
                    marks = ", ".join("?" for _ in table.schema)
                    # Identifiers from the topology file, quoted; values bound as parameters.
                    insert = f"INSERT INTO {schema}.{_quote(table.table_id)} VALUES ({marks})"  # noqa: S608
                    con.executemany(insert, table.rows)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_external_access = false")  # no files, no extensions, no new databases
        con.execute("SET lock_configuration = true")
        self._con, self._loaded = con, topology
        return con


# -- SQL ------------------------------------------------------------------------------------
def _compile(config: dict[str, Any], project: str) -> _Plan:
    """Parse GoogleSQL, qualify its tables and type its parameters; DuckDB SQL out."""
    if config.get("useLegacySql", True):
        raise BigQueryError(
            400, "invalidQuery", "Legacy SQL is not supported in the lab: set useLegacySql to false."
        )
    try:
        statements = [
            s for s in sqlglot.parse(str(config.get("query", "")), read="bigquery") if s is not None
        ]
    except sqlglot.errors.ParseError as exc:
        where = exc.errors[0] if exc.errors else {}
        message = f"Syntax error: {where.get('description', exc)} at [{where.get('line')}:{where.get('col')}]"
        raise BigQueryError(400, "invalidQuery", message) from exc
    except sqlglot.errors.SqlglotError as exc:
        raise BigQueryError(400, "invalidQuery", f"Syntax error: {exc}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        kind = (
            "Empty"
            if not statements
            else "Multi-statement"
            if len(statements) > 1
            else statements[0].key.upper()
        )
        raise BigQueryError(
            400, "invalidQuery", f"{kind} queries are not supported: only SELECT is supported in the lab."
        )
    tree = statements[0]
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    default = config.get("defaultDataset") or {}
    tables: list[tuple[str, str, str]] = []
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            raise BigQueryError(400, "invalidQuery", f"Function not found: {table.this.sql('bigquery')}")
        if table.db:
            ref = (table.catalog or project, table.db, table.name)
        elif table.name in ctes:
            continue
        elif default.get("datasetId"):
            ref = (default.get("projectId") or project, default["datasetId"], table.name)
        else:
            raise BigQueryError(
                400, "invalid", f'Table "{table.name}" must be qualified with a dataset (e.g. dataset.table).'
            )
        for part, value in zip(("catalog", "db", "this"), ref, strict=True):
            table.set(part, exp.to_identifier(value, quoted=True))
        tables.append(ref)
    _as_bigquery(tree)
    params = _bind_parameters(tree, config)
    return _Plan(tree.sql(dialect="duckdb"), params, tables)


def _as_bigquery(tree: exp.Expr) -> None:
    """Keep BigQuery's semantics where DuckDB differs: ``1.5`` is FLOAT64, unnamed columns are ``f0_``."""
    for literal in list(tree.find_all(exp.Literal)):
        if literal.is_number and not literal.is_int:
            literal.replace(exp.Cast(this=literal.copy(), to=exp.DataType.build("DOUBLE")))
    first = tree
    while isinstance(first, exp.SetOperation | exp.Subquery):
        first = first.this
    if isinstance(first, exp.Select):
        anonymous = (e for e in first.expressions if not isinstance(e, exp.Alias | exp.Column | exp.Star))
        for i, expression in enumerate(list(anonymous)):
            expression.replace(exp.alias_(expression.copy(), f"f{i}_", quoted=True))


def _bind_parameters(tree: exp.Expr, config: dict[str, Any]) -> dict[str, Any]:
    """Replace ``@name`` / ``?`` with typed DuckDB ``$name`` parameters; their values."""
    given = config.get("queryParameters") or []
    positional = str(config.get("parameterMode", "NAMED")).upper() == "POSITIONAL"
    by_name = {str(p.get("name", "")).lower(): p for p in given}
    params: dict[str, Any] = {}
    for node in list(tree.find_all(exp.Parameter)):
        spec = by_name.get(node.name.lower())
        if spec is None or positional:
            raise BigQueryError(400, "invalidQuery", f"Query parameter '{node.name}' not found")
        params[node.name] = _typed(node, node.name, spec, params)
    placeholders = list(tree.find_all(exp.Placeholder, bfs=False))
    if placeholders and (not positional or len(placeholders) != len(given)):
        raise BigQueryError(
            400,
            "invalidQuery",
            f"Query has {len(placeholders)} positional parameters but {len(given)} were given",
        )
    for i, placeholder in enumerate(placeholders):
        name = f"positional_{i}"
        params[name] = _typed(placeholder, name, given[i], params)
    return params


def _typed(node: exp.Expr, name: str, spec: dict[str, Any], params: dict[str, Any]) -> Any:
    ptype = spec.get("parameterType") or {}
    cast = exp.Cast(
        this=exp.Parameter(this=exp.Var(this=name)), to=exp.DataType.build(_duck_type(ptype), "duckdb")
    )
    node.replace(cast)
    return params[name] if name in params else _value(ptype, spec.get("parameterValue") or {})


def _duck_type(ptype: dict[str, Any]) -> str:
    kind = str(ptype.get("type", "")).upper()
    if kind == "ARRAY":
        return _duck_type(ptype.get("arrayType") or {}) + "[]"
    if kind == "STRUCT":
        members = ", ".join(
            f"{_quote(m['name'])} {_duck_type(m['type'])}" for m in ptype.get("structTypes", [])
        )
        return f"STRUCT({members})"
    if kind not in _TO_DUCKDB:
        raise BigQueryError(400, "invalid", f"Unsupported query parameter type: {kind or '(none)'}")
    return _TO_DUCKDB[kind]


def _value(ptype: dict[str, Any], pvalue: dict[str, Any]) -> Any:
    """A query parameter's value as Python; temporal values stay strings for DuckDB's cast."""
    kind = str(ptype.get("type", "")).upper()
    if kind == "ARRAY":
        return [_value(ptype.get("arrayType") or {}, v) for v in pvalue.get("arrayValues") or []]
    if kind == "STRUCT":
        values = pvalue.get("structValues") or {}
        return {
            m["name"]: _value(m["type"], values.get(m["name"]) or {}) for m in ptype.get("structTypes", [])
        }
    raw = pvalue.get("value")
    try:
        if raw is None:
            return None
        if kind in ("INT64", "INTEGER"):
            return int(raw)
        if kind in ("FLOAT64", "FLOAT"):
            return float(raw)
        if kind in ("BOOL", "BOOLEAN"):
            return raw if isinstance(raw, bool) else str(raw).lower() == "true"
        if kind in ("NUMERIC", "BIGNUMERIC"):
            return decimal.Decimal(str(raw))
        if kind == "BYTES":
            return base64.b64decode(raw)
        return str(raw)
    except (ValueError, decimal.InvalidOperation) as exc:
        raise BigQueryError(400, "invalid", f"Invalid {kind} query parameter value: {raw!r}") from exc


# -- wire format ----------------------------------------------------------------------------
def _field(name: str, dtype: DuckDBPyType) -> dict[str, Any]:
    """A BigQuery schema field for a DuckDB result column."""
    if dtype.id in ("list", "array"):
        return {**_field(name, dtype.child), "mode": "REPEATED"}
    if dtype.id == "struct":
        return {
            "name": name,
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [_field(str(n), t) for n, t in dtype.children],  # type: ignore[arg-type]
        }
    return {"name": name, "type": _FROM_DUCKDB.get(dtype.id, "STRING"), "mode": "NULLABLE"}


def _cell(value: Any, spec: dict[str, Any], int64: bool, repeated: bool = True) -> Any:
    """One value in BigQuery's JSON: strings for scalars, ``[{"v"}]`` for arrays, ``{"f"}`` for records."""
    if value is None:
        return None
    if repeated and spec["mode"] == "REPEATED":
        return [{"v": _cell(v, spec, int64, repeated=False)} for v in value]
    kind = spec["type"]
    if kind == "RECORD":
        return {"f": [{"v": _cell(value[f["name"]], f, int64)} for f in spec["fields"]]}
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "FLOAT":
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return "NaN" if math.isnan(value) else repr(float(value))
    if kind == "NUMERIC":
        return format(value.normalize(), "f")
    if kind == "TIMESTAMP":  # a naive UTC datetime (see _Warehouse.run)
        micros = (value - _EPOCH) // datetime.timedelta(microseconds=1)
        return str(micros) if int64 else repr(micros / 1_000_000)
    if kind in ("DATE", "DATETIME", "TIME"):
        return str(value.isoformat())
    if kind == "BYTES":
        return base64.b64encode(value).decode()
    return str(value)


def _page(
    job: _Job, max_results: int | None, page_token: str | None, start_index: int | None, int64: bool
) -> dict[str, Any]:
    """Schema, ``totalRows`` and one page of rows; no ``rows`` when the page is empty (``maxResults=0``)."""
    try:
        start = int(page_token) if page_token else (start_index or 0)
    except ValueError as exc:
        raise BigQueryError(400, "invalid", f"Invalid page token: {page_token}") from exc
    start = max(0, start)
    end = len(job.rows) if max_results is None else min(len(job.rows), start + max(0, max_results))
    page: dict[str, Any] = {"schema": {"fields": job.fields}, "totalRows": str(len(job.rows))}
    rows = [
        {"f": [{"v": _cell(v, f, int64)} for v, f in zip(row, job.fields, strict=True)]}
        for row in job.rows[start:end]
    ]
    if rows:
        page["rows"] = rows
        if end < len(job.rows):
            page["pageToken"] = str(end)
    return page


def _common(job: _Job) -> dict[str, Any]:
    return {
        "jobReference": _reference(job),
        "totalBytesProcessed": str(job.bytes_processed),
        "jobComplete": True,
        "cacheHit": False,
        "creationTime": str(job.created_ms),
        "startTime": str(job.created_ms),
        "endTime": str(job.ended_ms),
    }


def _reference(job: _Job) -> dict[str, str]:
    return {"projectId": job.project, "jobId": job.job_id, "location": job.location}


def _etag(job: _Job) -> str:
    return base64.b64encode(hashlib.sha256(f"{job.name}/{job.ended_ms}".encode()).digest()[:16]).decode()


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BigQueryError(400, "parseError", "Parse Error: the request body is not a JSON object.")
    return body


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Logical sizes BigQuery bills by (https://cloud.google.com/bigquery/docs/storage_overview#data_type_sizes).
_FIXED_SIZES = {
    "INTEGER": 8,
    "INT64": 8,
    "FLOAT": 8,
    "FLOAT64": 8,
    "BOOLEAN": 1,
    "BOOL": 1,
    "DATE": 8,
    "TIMESTAMP": 8,
}


def _estimate_bytes(topology: Topology, plan: _Plan, sql: str) -> int:
    """Bytes a query reads: every column it names (all of them for ``*``) of every table it reads,
    in BigQuery's logical sizes (STRING: 2 + UTF-8 length). An estimate, as BigQuery's is."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))
    everything = "*" in sql
    total = 0
    for project, dataset, table_id in plan.tables:
        tables = next(
            (
                d.tables
                for d in topology.bigquery_datasets
                if d.project_id == project and d.dataset_id == dataset
            ),
            (),
        )
        table = next((t for t in tables if t.table_id == table_id), None)
        if table is None:
            continue
        for index, (name, kind) in enumerate(table.schema):
            if not everything and name.lower() not in words:
                continue
            for row in table.rows:
                value = row[index]
                if value is None:
                    continue
                size = _FIXED_SIZES.get(kind.upper())
                total += size if size is not None else 2 + len(str(value).encode())
    return total
