"""Twin of azure_function/function_app.py with the official SDKs only: run the default query.

The credential is google-auth's ``identity_pool.Credentials`` with a custom subject-token supplier
that asks azure-identity's ``ManagedIdentityCredential`` for the Entra token, then impersonates
the service account:

* custom suppliers: google-auth's user guide, "Using a custom supplier with OIDC and SAML"
  (``identity_pool.SubjectTokenSupplier``, ``subject_token_supplier=``), since 2.29.0;
  https://googleapis.dev/python/google-auth/latest/user-guide.html#using-a-custom-supplier-with-oidc-and-saml
* ``ManagedIdentityCredential().get_token(scope)``: azure-identity's README.

The BigQuery client and the credential are built at import, as the samples do; the first
request pays the exchange.
"""

from __future__ import annotations

import json
import os
from typing import Any

import azure.functions as func
from azure.identity import ManagedIdentityCredential
from google.auth import identity_pool
from google.cloud import bigquery

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


class ManagedIdentitySupplier(identity_pool.SubjectTokenSupplier):
    """The Function App's managed identity token for the pool's audience, as the subject token."""

    def __init__(self, audience: str) -> None:
        self._credential = ManagedIdentityCredential()
        self._scope = f"{audience.rstrip('/')}/.default"

    def get_subject_token(self, context: Any, request: Any) -> str:
        return str(self._credential.get_token(self._scope).token)


_iam = os.environ.get("GOOGLE_IAM_CREDENTIALS_URL", "https://iamcredentials.googleapis.com")
credentials = identity_pool.Credentials(
    audience=f"//iam.googleapis.com/{os.environ['GCP_WORKLOAD_IDENTITY_PROVIDER']}",
    subject_token_type="urn:ietf:params:oauth:token-type:jwt",  # noqa: S106 - a type name
    token_url=os.environ.get("GOOGLE_STS_TOKEN_URL", "https://sts.googleapis.com/v1/token"),
    subject_token_supplier=ManagedIdentitySupplier(os.environ["AZURE_TOKEN_AUDIENCE"]),
    service_account_impersonation_url=(
        f"{_iam}/v1/projects/-/serviceAccounts/{os.environ['GCP_SERVICE_ACCOUNT']}:generateAccessToken"
    ),
    scopes=[CLOUD_PLATFORM],
    universe_domain=os.environ.get("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "googleapis.com"),
)
_endpoint = os.environ.get("BIGQUERY_API_ENDPOINT")
client = bigquery.Client(
    project=os.environ["BIGQUERY_PROJECT"],
    credentials=credentials,
    location=os.environ.get("BIGQUERY_LOCATION") or "US",
    client_options={"api_endpoint": _endpoint} if _endpoint else None,
    default_query_job_config=bigquery.QueryJobConfig(
        maximum_bytes_billed=1_000_000_000, labels={"caller": "azure-function"}
    ),
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="bigquery", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def bigquery_query(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """The function's default query, ``SELECT CURRENT_DATE() AS date``, as JSON."""
    rows = client.query_and_wait("SELECT CURRENT_DATE() AS date", max_results=10)
    body = {
        "query": "current_date",
        "rows": [dict(row.items()) for row in rows],
        "total_rows": rows.total_rows,
    }
    return func.HttpResponse(json.dumps(body, default=str), mimetype="application/json")
