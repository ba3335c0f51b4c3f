"""BigQuery's JSON wire format: a job's record and resource fields, errors, schemas, cells and pages."""

from __future__ import annotations

import base64
import datetime
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from duckdb.sqltypes import DuckDBPyType
from flask import Response

from lab.core import wire_errors

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
        return wire_errors.google_api(self.code, self.message, errors=[detail], headers=self.headers)


@dataclass
class Job:
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


def schema_field(name: str, dtype: DuckDBPyType) -> dict[str, Any]:
    """A BigQuery schema field for a DuckDB result column."""
    if dtype.id in ("list", "array"):
        return {**schema_field(name, dtype.child), "mode": "REPEATED"}
    if dtype.id == "struct":
        return {
            "name": name,
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [schema_field(str(n), t) for n, t in dtype.children],  # type: ignore[arg-type]
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
    if kind == "TIMESTAMP":  # a naive UTC datetime (see Warehouse.run)
        micros = (value - _EPOCH) // datetime.timedelta(microseconds=1)
        return str(micros) if int64 else repr(micros / 1_000_000)
    if kind in ("DATE", "DATETIME", "TIME"):
        return str(value.isoformat())
    if kind == "BYTES":
        return base64.b64encode(value).decode()
    return str(value)


def results_page(
    job: Job, max_results: int | None, page_token: str | None, start_index: int | None, int64: bool
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


def job_fields(job: Job) -> dict[str, Any]:
    return {
        "jobReference": job_reference(job),
        "totalBytesProcessed": str(job.bytes_processed),
        "jobComplete": True,
        "cacheHit": False,
        "creationTime": str(job.created_ms),
        "startTime": str(job.created_ms),
        "endTime": str(job.ended_ms),
    }


def job_reference(job: Job) -> dict[str, str]:
    return {"projectId": job.project, "jobId": job.job_id, "location": job.location}


def job_etag(job: Job) -> str:
    return base64.b64encode(hashlib.sha256(f"{job.name}/{job.ended_ms}".encode()).digest()[:16]).decode()
