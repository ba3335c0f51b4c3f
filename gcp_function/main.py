"""Cloud Function (gen2) / Cloud Run: list the blobs of an Azure Storage container, with no secret.

The function's Google service account proves itself to Microsoft Entra ID with a Google ID
token (no Azure secret anywhere); ``shared.GoogleFederatedCredential`` turns that into the
Azure token ``BlobServiceClient`` uses.

``GET /?container=&prefix=&max_results=&page_token=`` answers::

    {"account": "...", "container": "reports", "prefix": "2026/",
     "blobs": [{"name", "size", "last_modified", "content_type"}], "next_page_token": "..." | null}

Errors follow ``shared.functions.http`` (400 names the parameter, 403 says what to grant, 503 has
``Retry-After``). Settings (environment), read once per instance
(:class:`shared.functions.settings.CloudFunctionSettings`)::

    AZURE_STORAGE_ACCOUNT_URL   https://<account>.blob.core.windows.net
    AZURE_STORAGE_CONTAINER     the container listed when the request names none
    AZURE_TENANT_ID, AZURE_CLIENT_ID   the app registration whose federated credential trusts
                                this function's service account (see shared.settings)

Run locally: ``functions-framework --target=list_blobs --source=gcp_function/main.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import flask
import functions_framework

from shared.errors import SettingsError
from shared.functions.entrypoint import PerInstance, respond
from shared.functions.http import BadParameter, QueryParams, Reply, method_not_allowed, ok
from shared.functions.logs import trace_fields, use_cloud_logging

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import BlobServiceClient

    from shared.functions.settings import CloudFunctionSettings

# Azure's container naming rules: 3-63 of [a-z0-9-], starting and ending with a letter or
# digit, no two hyphens in a row; or one of the special containers.
CONTAINER_NAME = r"(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*|\$root|\$web|\$logs"
MAX_RESULTS = 1000  # per page; Azure allows 5,000, a function's response should stay small
DEFAULT_RESULTS = 100
PARAMETERS = ("container", "prefix", "max_results", "page_token")

use_cloud_logging()
log = logging.getLogger("gcp_function")


@functions_framework.http
def list_blobs(request: flask.Request) -> flask.Response:
    """The HTTP entrypoint: one page of the container's blobs as JSON."""
    request_id = request.headers.get("Function-Execution-Id") or uuid.uuid4().hex
    reply = respond(
        log,
        lambda: _reply(request, request_id),
        method=request.method,
        path=request.path,
        request_id=request_id,
        extra=trace_fields(request.headers.get("traceparent"), request.headers.get("X-Cloud-Trace-Context")),
    )
    return flask.Response(reply.json(), reply.status, dict(reply.headers), mimetype="application/json")


def _reply(request: flask.Request, request_id: str) -> Reply:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed(request.method, ["GET"], request_id=request_id)
    return ok(list_page(QueryParams(request.args.to_dict(flat=False), PARAMETERS)))


def list_page(params: QueryParams) -> dict[str, Any]:
    """Read the request's parameters and list one page of blobs."""
    requested = params.text(
        "container",
        pattern=CONTAINER_NAME,
        max_length=63,
        rule="a container name: 3-63 lowercase letters, digits and single hyphens, starting and ending "
        "with a letter or digit",
    )
    prefix = params.text("prefix", default="", max_length=1024) or ""
    max_results = params.integer("max_results", default=DEFAULT_RESULTS, low=1, high=MAX_RESULTS)
    token = params.text("page_token", max_length=4096)
    instance = _instance.get()
    container = requested or instance.settings.container
    if not container:
        raise SettingsError(
            [("AZURE_STORAGE_CONTAINER", "the container to list when the request names none")]
        )
    marker = marker_of(token, container, prefix) if token else None

    service = instance.service
    pages: Any = (  # azure-core's page iterator, with continuation_token
        service.get_container_client(container)
        .list_blobs(name_starts_with=prefix or None, results_per_page=max_results)
        .by_page(continuation_token=marker)
    )
    blobs = [
        {
            "name": blob.name,
            "size": blob.size,
            "last_modified": blob.last_modified.isoformat() if blob.last_modified else None,
            "content_type": blob.content_settings.content_type,
        }
        for blob in next(pages)
    ]
    next_marker = pages.continuation_token
    return {
        "account": service.url.rstrip("/"),
        "container": container,
        "prefix": prefix,
        "blobs": blobs,
        "next_page_token": page_token_of(container, prefix, next_marker) if next_marker else None,
    }


@dataclass(frozen=True)
class Instance:
    """What an instance builds once, from its settings, and every request reuses."""

    settings: CloudFunctionSettings
    service: BlobServiceClient


_instance: PerInstance[Instance] = PerInstance(lambda: _new_instance())


def blob_service(credential: TokenCredential | None = None) -> BlobServiceClient:
    """The instance's ``BlobServiceClient``, built on first use and shared by every request.

    ``credential`` (default: a :class:`shared.GoogleFederatedCredential` from the settings) is used
    only if this call builds it: a seam for the benchmarks' static token.
    """
    return _instance.get(lambda: _new_instance(credential)).service


def _new_instance(credential: TokenCredential | None = None) -> Instance:
    from azure.storage.blob import BlobServiceClient, LinearRetry

    from shared.functions.settings import CloudFunctionSettings
    from shared.google_to_azure import GoogleFederatedCredential

    settings = CloudFunctionSettings.from_env()
    retry = settings.federation.retry  # the federation's retry settings serve the data call too
    service = BlobServiceClient(
        settings.account_url,
        credential=credential or GoogleFederatedCredential(settings.federation),
        # Storage's default retry waits 15 s and more between tries: far too long behind an HTTP call.
        retry_policy=LinearRetry(
            backoff=retry.initial_backoff_s,  # type: ignore[arg-type]  # seconds; floats work
            random_jitter_range=retry.initial_backoff_s,  # type: ignore[arg-type]
            retry_total=retry.attempts - 1,
            # Storage also caps each kind of failure, at 3 by default: the same budget for each.
            retry_connect=retry.attempts - 1,
            retry_read=retry.attempts - 1,
            retry_status=retry.attempts - 1,
        ),
        connection_timeout=min(5.0, retry.attempt_timeout_s),
        read_timeout=retry.attempt_timeout_s,
    )
    return Instance(settings, service)


def page_token_of(container: str, prefix: str, marker: str) -> str:
    """An opaque continuation token, bound to the container and prefix it continues."""
    data = json.dumps({"c": container, "p": prefix, "m": marker}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def marker_of(token: str, container: str, prefix: str) -> str:
    """Azure's continuation marker inside a :func:`page_token_of` token; :class:`BadParameter` (the
    ``page_token`` parameter) unless it is one, for this container and prefix."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        marker = data["m"]
        same_listing = data["c"] == container and data["p"] == prefix
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadParameter("page_token", "not a next_page_token this function returned") from None
    if not same_listing or not isinstance(marker, str):
        raise BadParameter("page_token", "continues another listing: send the same container and prefix")
    return marker
