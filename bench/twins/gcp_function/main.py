"""Twin of gcp_function/main.py with the official SDKs only: list the blobs of an Azure container.

The credential is azure-identity's ``ClientAssertionCredential`` whose callback fetches a Google
ID token from the metadata server for the audience ``api://AzureADTokenExchange``:

* ``ClientAssertionCredential(tenant_id, client_id, func)`` — azure-identity's docs and README
  ("ClientAssertionCredential ... func: a callable that returns a string assertion");
  https://learn.microsoft.com/python/api/azure-identity/azure.identity.clientassertioncredential
* ``compute_engine.IDTokenCredentials(request, target_audience, use_metadata_identity_endpoint=True)``
  — google-auth's user guide, "Identity Tokens";
  https://googleapis.dev/python/google-auth/latest/user-guide.html#identity-tokens

Built at import, as the samples do; the first request pays the exchange.
"""

from __future__ import annotations

import os
from typing import Any

import flask
import functions_framework
from azure.identity import ClientAssertionCredential
from azure.storage.blob import BlobServiceClient
from google.auth import compute_engine
from google.auth.transport.requests import Request

AZURE_TOKEN_EXCHANGE = "api://AzureADTokenExchange"  # noqa: S105 - an audience, not a secret

_id_tokens = compute_engine.IDTokenCredentials(
    Request(), target_audience=AZURE_TOKEN_EXCHANGE, use_metadata_identity_endpoint=True
)


def _google_id_token() -> str:
    _id_tokens.refresh(Request())
    return str(_id_tokens.token)


credential = ClientAssertionCredential(
    os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], _google_id_token
)
service = BlobServiceClient(os.environ["AZURE_STORAGE_ACCOUNT_URL"], credential=credential)


@functions_framework.http
def list_blobs(request: flask.Request) -> Any:
    """One page of the container's blobs as JSON (the function's default listing)."""
    container = request.args.get("container") or os.environ["AZURE_STORAGE_CONTAINER"]
    max_results = int(request.args.get("max_results", "100"))
    pages: Any = service.get_container_client(container).list_blobs(results_per_page=max_results).by_page()
    blobs = [
        {
            "name": blob.name,
            "size": blob.size,
            "last_modified": blob.last_modified.isoformat() if blob.last_modified else None,
            "content_type": blob.content_settings.content_type,
        }
        for blob in next(pages)
    ]
    return {"container": container, "blobs": blobs, "next_page_token": pages.continuation_token}
