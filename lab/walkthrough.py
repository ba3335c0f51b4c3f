"""``make demo``: both federation flows, offline, with the official SDKs against the lab.

Azure -> Google: the Function App's managed identity -> Google STS -> service-account
impersonation -> BigQuery. Google -> Azure: the Cloud Function's metadata-server ID token ->
Entra client assertion -> Blob Storage. Then one deliberate misconfiguration, and the error a
user would see. Prints claims and hop counts, never a token.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import jwt

from lab.runtime import Lab

AUDIENCE_APP = "api://333d03c9-522a-4b89-bdd2-f529e295595a"
BLOB_READER_APP = "d14d8b14-1160-4596-89f8-4e6d8dffc30c"
BQ_READER = "bq-reader@fedlab-analytics.iam.gserviceaccount.com"
CLAIMS = ("iss", "sub", "aud", "exp")


def claims_line(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return ", ".join(f"{name}={claims[name]}" for name in CLAIMS if name in claims)


def hops(lab: Lab) -> str:
    return ", ".join(f"{hop} x{count}" for hop, count in sorted(lab.counts().items()))


def azure_to_google(lab: Lab) -> None:
    from azure.identity import ManagedIdentityCredential
    from google.auth import identity_pool
    from google.cloud import bigquery

    azure = ManagedIdentityCredential()

    class Supplier(identity_pool.SubjectTokenSupplier):
        def get_subject_token(self, context: Any, request: Any) -> str:
            token = str(azure.get_token(f"{AUDIENCE_APP}/.default").token)
            print(f"  Azure token claims: {claims_line(token)}")
            return token

    credentials = identity_pool.Credentials(
        audience=lab.sts_audience(),
        subject_token_type="urn:ietf:params:oauth:token-type:jwt",
        token_url=os.environ["LAB_STS_URL"],
        subject_token_supplier=Supplier(),
        service_account_impersonation_url=lab.impersonation_url(BQ_READER),
        scopes=["https://www.googleapis.com/auth/cloud-platform"],
        universe_domain="lab.internal",
    )
    client = bigquery.Client(
        project="fedlab-analytics",
        credentials=credentials,
        client_options={"api_endpoint": lab.url("gcp.bigquery"), "universe_domain": "lab.internal"},
    )
    sql = (
        "SELECT name, SUM(number) AS total FROM `bigquery-public-data.usa_names.usa_1910_current` "
        "WHERE state = @state AND year = @year GROUP BY name ORDER BY total DESC LIMIT 3"
    )
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("state", "STRING", "TX"),
            bigquery.ScalarQueryParameter("year", "INT64", 2021),
        ]
    )
    for row in client.query_and_wait(sql, job_config=config):
        print(f"  BigQuery row: {row['name']:<10} {row['total']}")


def metadata_assertion(*, show_claims: bool) -> Callable[[], str]:
    """A client-assertion callback: a fresh metadata-server ID token on every call."""
    from google.auth import compute_engine
    from google.auth.transport.requests import Request

    id_tokens = compute_engine.IDTokenCredentials(
        Request(), target_audience="api://AzureADTokenExchange", use_metadata_identity_endpoint=True
    )

    def assertion() -> str:
        id_tokens.refresh(Request())
        token = str(id_tokens.token)
        if show_claims:
            print(f"  Google ID token claims: {claims_line(token)}")
        return token

    return assertion


def google_to_azure(lab: Lab) -> None:
    from azure.identity import ClientAssertionCredential
    from azure.storage.blob import BlobServiceClient

    credential = ClientAssertionCredential(
        os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, metadata_assertion(show_claims=True)
    )
    service = BlobServiceClient(lab.blob_account_url, credential=credential)
    for blob in service.get_container_client("reports").list_blobs():
        print(f"  Blob: {blob.name:<28} {blob.size:>4} bytes  {blob.content_settings.content_type}")


def misconfigured_subject(lab: Lab) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientAssertionCredential

    apps = []
    for app in lab.topology_now().applications:
        if app.client_id == BLOB_READER_APP:  # the classic mistake: the email as the subject
            fic = dataclasses.replace(
                app.federated_identity_credentials[0],
                subject="blob-reader-fn@fedlab-analytics.iam.gserviceaccount.com",
            )
            app = dataclasses.replace(app, federated_identity_credentials=(fic,))
        apps.append(app)
    lab.break_topology(applications=apps)
    try:
        credential = ClientAssertionCredential(
            os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, metadata_assertion(show_claims=False)
        )
        credential.get_token("https://storage.azure.com/.default")
    except ClientAuthenticationError as exc:
        description = str(exc).split("AADSTS", 1)[-1].split(" Trace ID")[0]
        print(f"  Entra says: AADSTS{description}")
        print(
            "  Fix: the federated credential's subject must be the service account's unique_id, not its email."
        )


def main() -> int:
    logging.getLogger("azure.identity").setLevel(logging.ERROR)  # the demo prints the refusal itself
    started = time.monotonic()
    with Lab() as lab:
        os.environ.update(lab.env())
        print(f"Lab ready in {time.monotonic() - started:.1f}s — every endpoint on 127.0.0.1\n")
        print("Azure -> Google: managed identity -> STS -> impersonation -> BigQuery")
        azure_to_google(lab)
        print(f"  hops: {hops(lab)}\n")
        lab.controls.reset_counts()
        print("Google -> Azure: metadata ID token -> Entra client assertion -> Blob Storage")
        google_to_azure(lab)
        print(f"  hops: {hops(lab)}\n")
        print("A deliberate misconfiguration: federated credential subject set to the email")
        misconfigured_subject(lab)
    print(f"\nDone in {time.monotonic() - started:.1f}s; the lab and Azurite are stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
