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

Modules: ``api`` (the REST methods, authorization, jobs), ``sql`` (GoogleSQL to DuckDB),
``rows`` (the tables' rows in DuckDB) and ``wire`` (BigQuery's JSON wire format).
"""

from lab.gcp.bigquery.api import LOCATION, create
from lab.gcp.bigquery.wire import BigQueryError

__all__ = ["LOCATION", "BigQueryError", "create"]
