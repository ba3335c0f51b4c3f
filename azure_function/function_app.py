"""Azure Function (Python v2 model): run a BigQuery query, with no Google secret.

The Function App's managed identity gets an Entra token; Google STS exchanges it through
workload identity federation (and optionally impersonates a service account);
``shared.google_credentials()`` hands google-cloud-bigquery the result.

``GET /api/bigquery`` (function key required) runs a named query, never SQL from the request::

    ?query=current_date                          SELECT CURRENT_DATE() AS date   (the default)
    ?query=top_names&state=TX&year=2021&limit=5  the most given names for a state and a year, from
                                                 bigquery-public-data.usa_names, as query parameters

and answers ``{"query", "parameters", "rows", "total_rows", "job": {...}}``. Errors follow
``shared.functions.http`` (400 names the parameter, 403 says what to grant, 503 has ``Retry-After``).

Settings (application settings), read once per instance
(:class:`shared.functions.settings.FunctionAppSettings`): the federation's
(``GCP_WORKLOAD_IDENTITY_PROVIDER``, ``AZURE_TOKEN_AUDIENCE``, ``GCP_SERVICE_ACCOUNT``; see
``shared.settings``) and::

    BIGQUERY_PROJECT                 the project jobs run in (and are billed to)
    BIGQUERY_LOCATION                default US, where usa_names lives
    BIGQUERY_MAXIMUM_BYTES_BILLED    default 1000000000: a query that would scan more fails
    BIGQUERY_TIMEOUT_S               default 20: retries and waiting, all told
    BIGQUERY_API_ENDPOINT            optional: a Private Service Connect endpoint

Run locally: ``func start`` (Azure Functions Core Tools) in this folder.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import azure.functions as func

from shared.functions.entrypoint import PerInstance, respond
from shared.functions.http import BadParameter, QueryParams, ok
from shared.functions.logs import use_azure_functions_logging

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud import bigquery

# The 50 states and DC, as usa_names spells them.
STATES = frozenset(
    {
        "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS",
        "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV",
        "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY",
    }
)  # fmt: skip
FIRST_YEAR = 1910


@dataclass(frozen=True)
class Parameter:
    """A BigQuery query parameter and how to read it, validated, from the request."""

    name: str
    type: str  # BigQuery's: STRING, INT64, ...
    read: Callable[[QueryParams], Any]


@dataclass(frozen=True)
class NamedQuery:
    """A query callers may run by name: fixed SQL, typed parameters, a cap on rows returned."""

    sql: str
    parameters: tuple[Parameter, ...] = ()
    options: tuple[str, ...] = ()  # request parameters that are not query parameters

    def accepts(self) -> set[str]:
        return {"query", *self.options, *(p.name for p in self.parameters)}


def _state(params: QueryParams) -> str:
    state = params.text(
        "state", pattern="[A-Za-z]{2}", max_length=2, rule="a two-letter US state code such as TX"
    )
    if state is None or state.upper() not in STATES:
        raise BadParameter("state", "a two-letter US state code such as TX (required)")
    return state.upper()


def _year(params: QueryParams) -> int:
    return params.integer("year", default=2021, low=FIRST_YEAR, high=datetime.date.today().year)


QUERIES = {
    "current_date": NamedQuery("SELECT CURRENT_DATE() AS date"),
    "top_names": NamedQuery(
        "SELECT name, SUM(number) AS total FROM `bigquery-public-data.usa_names.usa_1910_current` "
        "WHERE state = @state AND year = @year GROUP BY name ORDER BY total DESC, name LIMIT 100",
        (Parameter("state", "STRING", _state), Parameter("year", "INT64", _year)),
        options=("limit",),
    ),
}
ALL_PARAMETERS = sorted(set().union(*(query.accepts() for query in QUERIES.values())))

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("azure_function")
use_azure_functions_logging(log)


@app.route(route="bigquery", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def bigquery_query(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """The HTTP entrypoint: run the named query and return its rows as JSON."""
    reply = respond(
        log,
        lambda: ok(run_named_query(QueryParams(req.params, ALL_PARAMETERS))),
        method=req.method,
        path=urlsplit(req.url).path,
        request_id=context.invocation_id,
    )
    return func.HttpResponse(
        reply.json(), status_code=reply.status, headers=dict(reply.headers), mimetype="application/json"
    )


def run_named_query(params: QueryParams) -> dict[str, Any]:
    """Validate the request's parameters for the named query, run it, and shape the result."""
    from google.cloud import bigquery

    name = params.choice("query", QUERIES, default="current_date") or "current_date"
    query = QUERIES[name]
    for given in params.given - query.accepts():
        raise BadParameter(
            given, f"does not apply to query={name}; it takes {', '.join(sorted(query.accepts()))}"
        )
    values = {parameter.name: parameter.read(params) for parameter in query.parameters}
    limit = params.integer("limit", default=10, low=1, high=100)
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(p.name, p.type, values[p.name]) for p in query.parameters
        ]
    )
    instance = _instance.get()
    client = instance.client
    rows = client.query_and_wait(
        query.sql,
        job_config=config,
        max_results=limit,
        api_timeout=instance.attempt_timeout_s,
        wait_timeout=instance.timeout_s,
        retry=instance.retry,
        job_retry=None,  # type: ignore[arg-type]  # a failed read-only query is reported, not restarted behind the caller's back
    )
    return {
        "query": name,
        "parameters": values,
        "rows": [dict(row.items()) for row in rows],
        "total_rows": rows.total_rows,
        "job": {
            "project": rows.project or client.project,
            "location": rows.location,
            "job_id": rows.job_id,
            "bytes_processed": rows.total_bytes_processed,
        },
    }


def _transient(error: BaseException) -> bool:
    """What to retry: google-cloud-bigquery's transient errors, and also a connection reset during the
    TLS handshake, which surfaces as an ``SSLError`` that the library never retries. A certificate
    that fails verification is not transient."""
    import requests
    from google.api_core import exceptions
    from google.auth.exceptions import TransportError

    from shared.errors import RETRYABLE_STATUS

    if isinstance(error, requests.exceptions.SSLError):
        return "CERTIFICATE_VERIFY_FAILED" not in str(error)
    if isinstance(error, exceptions.GoogleAPICallError):
        reasons = {e.get("reason") for e in error.errors or [] if isinstance(e, dict)}
        return error.code in RETRYABLE_STATUS or bool(reasons & _RETRYABLE_REASONS)
    return isinstance(
        error, requests.exceptions.ConnectionError | requests.exceptions.Timeout | TransportError
    )


_RETRYABLE_REASONS = {"rateLimitExceeded", "backendError", "internalError", "badGateway"}


@dataclass(frozen=True)
class Instance:
    """What an instance builds once, from its settings, and every invocation reuses."""

    client: bigquery.Client
    timeout_s: float  # retries and waiting, all told (BIGQUERY_TIMEOUT_S)
    attempt_timeout_s: float  # one API call (FEDERATION_ATTEMPT_TIMEOUT_S)
    retry: Any  # google.api_core Retry


_instance: PerInstance[Instance] = PerInstance(lambda: _new_instance())


def bigquery_client(credentials: Credentials | None = None) -> bigquery.Client:
    """The instance's BigQuery client, built on first use and shared by every invocation.

    ``credentials`` (default: :func:`shared.google_credentials` from the settings) are used only if
    this call builds it: a seam for the benchmarks' static token.
    """
    return _instance.get(lambda: _new_instance(credentials)).client


def _new_instance(credentials: Credentials | None = None) -> Instance:
    from google.cloud import bigquery

    from shared.azure_to_google import google_credentials
    from shared.functions.settings import FunctionAppSettings

    settings = FunctionAppSettings.from_env()
    client = bigquery.Client(
        project=settings.project,
        credentials=credentials or google_credentials(settings.federation),
        location=settings.location,
        client_options={"api_endpoint": settings.api_endpoint} if settings.api_endpoint else None,
        default_query_job_config=bigquery.QueryJobConfig(
            maximum_bytes_billed=settings.maximum_bytes_billed, labels={"caller": "azure-function"}
        ),
    )
    timeout_s = settings.timeout_s
    retry = bigquery.DEFAULT_RETRY.with_predicate(_transient).with_deadline(timeout_s).with_delay(0.25, 2.0)
    return Instance(client, timeout_s, min(settings.federation.retry.attempt_timeout_s, timeout_s), retry)
