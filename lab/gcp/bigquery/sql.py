"""GoogleSQL in, a DuckDB plan out: sqlglot's translation, read-only checks, query parameters bound."""

from __future__ import annotations

import base64
import decimal
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from lab.gcp.bigquery.wire import BigQueryError

TO_DUCKDB = {
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


@dataclass
class Plan:
    sql: str  # DuckDB SQL
    params: dict[str, Any]
    tables: list[tuple[str, str, str]]  # (project, dataset, table) as the query names them


def compile_query(config: dict[str, Any], project: str) -> Plan:
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
    return Plan(tree.sql(dialect="duckdb"), params, tables)


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
            f"{quote_identifier(m['name'])} {_duck_type(m['type'])}" for m in ptype.get("structTypes", [])
        )
        return f"STRUCT({members})"
    if kind not in TO_DUCKDB:
        raise BigQueryError(400, "invalid", f"Unsupported query parameter type: {kind or '(none)'}")
    return TO_DUCKDB[kind]


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


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
