"""Where the rows live: one in-memory DuckDB database holding the topology's tables."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import duckdb

from lab.core.topology import Topology
from lab.gcp.bigquery.sql import TO_DUCKDB, Plan, quote_identifier
from lab.gcp.bigquery.wire import BigQueryError, schema_field


class Warehouse:
    """The topology's tables in one in-memory DuckDB database, rebuilt when the topology changes."""

    def __init__(self, topology: Callable[[], Topology]) -> None:
        self._topology = topology
        self._lock = threading.Lock()  # a DuckDB connection is not for concurrent use
        self._loaded: Topology | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._connection()

    def close(self) -> None:
        """Close DuckDB: native objects alive at interpreter exit make nanobind print a
        "leaked" report on every stop."""
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con, self._loaded = None, None

    def describe(self, plan: Plan) -> list[dict[str, Any]]:
        """The result's schema without running the query (DuckDB binds it, fetches nothing)."""
        with self._lock:
            try:
                relation = self._connection().sql(plan.sql, params=plan.params or None)
                if relation is None:
                    raise BigQueryError(400, "invalidQuery", "The query returns no result set.")
                return [schema_field(n, t) for n, t in zip(relation.columns, relation.types, strict=True)]
            except duckdb.Error as exc:
                raise BigQueryError(400, "invalidQuery", str(exc)) from exc

    def run(self, plan: Plan) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
        """Run a compiled query: BigQuery schema fields and the rows as Python values."""
        with self._lock:
            try:
                relation = self._connection().sql(plan.sql, params=plan.params or None)
                if relation is None:
                    raise BigQueryError(400, "invalidQuery", "The query returns no result set.")
                fields = [schema_field(n, t) for n, t in zip(relation.columns, relation.types, strict=True)]
                # DuckDB hands TIMESTAMPTZ to Python through pytz; UTC wall time needs nothing.
                zoned = [str(t).replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP") for t in relation.types]
                if any(z != str(t) for z, t in zip(zoned, relation.types, strict=True)):
                    relation = relation.project(
                        ", ".join(f"CAST(#{i + 1} AS {z})" for i, z in enumerate(zoned))
                    )
                return fields, relation.fetchall()
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
            con.execute(f"ATTACH ':memory:' AS {quote_identifier(project)}")
        for dataset in topology.bigquery_datasets:
            schema = f"{quote_identifier(dataset.project_id)}.{quote_identifier(dataset.dataset_id)}"
            con.execute(f"CREATE SCHEMA {schema}")
            for table in dataset.tables:
                columns = ", ".join(f"{quote_identifier(n)} {TO_DUCKDB[t.upper()]}" for n, t in table.schema)
                con.execute(f"CREATE TABLE {schema}.{quote_identifier(table.table_id)} ({columns})")
                if table.rows:
                    marks = ", ".join("?" for _ in table.schema)
                    # Identifiers from the topology file, quoted; values bound as parameters.
                    insert = f"INSERT INTO {schema}.{quote_identifier(table.table_id)} VALUES ({marks})"  # noqa: S608
                    con.executemany(insert, table.rows)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_external_access = false")  # no files, no extensions, no new databases
        con.execute("SET lock_configuration = true")
        self._con, self._loaded = con, topology
        return con


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


def estimate_bytes(topology: Topology, plan: Plan, sql: str) -> int:
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
                if row[index] is None:
                    continue
                size = _FIXED_SIZES.get(kind.upper())
                total += size if size is not None else 2 + len(str(row[index]).encode())
    return total
