"""BigQuery REST v2's job methods as the lab serves them: who may call, jobs kept, responses shaped."""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from flask import request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import Keys
from lab.core.service import Service
from lab.core.topology import Topology
from lab.gcp.bigquery.rows import Warehouse, estimate_bytes
from lab.gcp.bigquery.sql import Plan, compile_query
from lab.gcp.bigquery.wire import BigQueryError, Job, job_etag, job_fields, job_reference, results_page
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


def create(controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> Service:
    """The ``gcp.bigquery`` service; ``topology`` returns the current topology on every request."""
    service = Service(
        "gcp.bigquery", controls, lambda status, message: wire_errors.google_api(status, message)
    )
    api = _BigQuery(controls, keys, topology)
    service.app.register_error_handler(BigQueryError, lambda exc: exc.response())
    base = "/bigquery/v2/projects/<project>"
    service.route(f"{base}/jobs", "jobs.insert", methods=["POST"])(api.insert)
    service.route(f"{base}/jobs/<job_id>", "jobs.get", methods=["GET"])(api.get)
    service.route(f"{base}/jobs/<job_id>/cancel", "jobs.cancel", methods=["POST"])(api.cancel)
    service.route(f"{base}/queries/<job_id>", "jobs.getQueryResults", methods=["GET"])(api.get_query_results)
    service.route(f"{base}/queries", "jobs.query", methods=["POST"])(api.query)
    service.on_stop(api.close)  # DuckDB closes with the service
    return service


class _BigQuery:
    def __init__(self, controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> None:
        self._controls, self._keys, self._topology = controls, keys, topology
        self._warehouse = Warehouse(topology)
        self._jobs: dict[tuple[str, str], Job] = {}
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
            return {"kind": "bigquery#queryResponse", "schema": {"fields": job.fields}, **job_fields(job)}
        try:
            max_results = None if body.get("maxResults") is None else int(body["maxResults"])
        except (TypeError, ValueError) as exc:
            raise BigQueryError(400, "invalid", f"Invalid maxResults: {body['maxResults']!r}") from exc
        int64 = bool((body.get("formatOptions") or {}).get("useInt64Timestamp"))
        page = results_page(job, max_results, None, None, int64)
        return {"kind": "bigquery#queryResponse", **page, "queryId": job.job_id, **job_fields(job)}

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
        page = results_page(job, max_results, args.get("pageToken"), args.get("startIndex", type=int), int64)
        return {"kind": "bigquery#getQueryResultsResponse", "etag": job_etag(job), **page, **job_fields(job)}

    # -- jobs -----------------------------------------------------------------------------
    def _run(
        self,
        project: str,
        job_id: str | None,
        location: str | None,
        configuration: dict[str, Any],
        *,
        store_error: bool,
    ) -> Job:
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
        job = Job(project, job_id, location or LOCATION, identity.principal, configuration, now_ms)
        if configuration.get("dryRun"):
            return self._dry_run(identity, topology, job)
        with self._lock:
            if (project, job_id) in self._jobs:
                raise BigQueryError(409, "duplicate", f"Already Exists: Job {job.name}")
            self._jobs[(project, job_id)] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.pop(next(iter(self._jobs)))
        try:
            plan = compile_query(configuration["query"], project)
            self._authorize_tables(identity, topology, plan, job.location)
            job.fields, job.rows = self._warehouse.run(plan)
        except BigQueryError as exc:
            job.error = exc
            if not store_error:
                raise
        finally:
            job.ended_ms = max(now_ms, int(self._controls.now() * 1000))
        return job

    def _dry_run(self, identity: Identity, topology: Topology, job: Job) -> Job:
        """Validate and estimate, run nothing and keep no job: a dry run "returns statistics
        about the job such as how many bytes would be processed"; an invalid query fails the
        call (https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfiguration,
        https://cloud.google.com/bigquery/docs/running-queries#dry-run)."""
        plan = compile_query(job.configuration["query"], job.project)
        self._authorize_tables(identity, topology, plan, job.location)
        job.fields = self._warehouse.describe(plan)
        job.bytes_processed = estimate_bytes(topology, plan, job.configuration["query"].get("query", ""))
        job.ended_ms = job.created_ms
        return job

    def _authorize_tables(self, identity: Identity, topology: Topology, plan: Plan, location: str) -> None:
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

    def _find(self, project: str, job_id: str) -> Job:
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

    def _resource(self, job: Job) -> dict[str, Any]:
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
            "etag": job_etag(job),
            "id": job.name,
            "selfLink": f"{request.host_url}bigquery/v2/projects/{job.project}/jobs/{job.job_id}"
            f"?location={job.location}",
            "user_email": job.principal.split(":", 1)[1]
            if job.principal.startswith(("serviceAccount:", "user:"))
            else job.principal,
            "principal_subject": job.principal,
            "jobReference": job_reference(job),
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


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BigQueryError(400, "parseError", "Parse Error: the request body is not a JSON object.")
    return body
