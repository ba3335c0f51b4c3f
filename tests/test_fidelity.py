"""The official SDKs, unchanged, complete both federation flows against the lab.

Only endpoints and the CA are configured (through ``lab.env()``, exported by conftest);
every credential and client is the SDK's own.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from typing import Any

import jwt
import pytest
from azure.identity import ClientAssertionCredential, ClientSecretCredential, ManagedIdentityCredential
from google.auth import compute_engine, identity_pool
from google.auth.transport.requests import Request
from google.cloud import bigquery

from lab.core.runtime import LAB_UNIVERSE, Lab
from tests.support.federation import (
    AUDIENCE_APP,
    BLOB_READER_APP,
    BQ_READER,
    DEVELOPER_APP,
    TOP_NAMES,
    expected_top_names,
)

pytestmark = pytest.mark.fidelity

SCOPE_CLOUD = "https://www.googleapis.com/auth/cloud-platform"
SUBJECT_JWT = "urn:ietf:params:oauth:token-type:jwt"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# LAB_UNIVERSE: any universe domain but googleapis.com keeps google-auth's Regional Access Boundary
# lookup (a background call to iamcredentials.googleapis.com) from starting: see test_network_guard.


class AzureSubjectTokenSupplier(identity_pool.SubjectTokenSupplier):
    """google-auth's documented extension point, backed by an azure-identity credential."""

    def __init__(self, credential: Any, scope: str) -> None:
        self.credential = credential
        self.scope = scope

    def get_subject_token(self, context: Any, request: Any) -> str:
        return str(self.credential.get_token(self.scope).token)


def google_credentials(lab: Lab, azure_credential: Any, *, impersonate: str | None = BQ_READER) -> Any:
    return identity_pool.Credentials(
        audience=lab.sts_audience(),
        subject_token_type=SUBJECT_JWT,
        token_url=os.environ["LAB_STS_URL"],
        subject_token_supplier=AzureSubjectTokenSupplier(azure_credential, f"{AUDIENCE_APP}/.default"),
        service_account_impersonation_url=lab.impersonation_url(impersonate) if impersonate else None,
        scopes=[SCOPE_CLOUD],
        universe_domain=LAB_UNIVERSE,
    )


def bigquery_client(lab: Lab, credentials: Any) -> bigquery.Client:
    return bigquery.Client(
        project="fedlab-analytics",
        credentials=credentials,
        client_options={"api_endpoint": lab.url("gcp.bigquery"), "universe_domain": LAB_UNIVERSE},
    )


# -- (a) Azure -> Google ----------------------------------------------------------------------


def test_managed_identity_app_service_to_bigquery_with_impersonation(lab: Lab) -> None:
    credentials = google_credentials(lab, ManagedIdentityCredential())
    client = bigquery_client(lab, credentials)
    job = client.query(
        TOP_NAMES,
        job_config=bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("state", "STRING", "TX"),
                bigquery.ScalarQueryParameter("year", "INT64", 2021),
            ]
        ),
    )
    rows = [(row["name"], row["total"]) for row in job.result()]

    assert rows == expected_top_names(lab, "TX", 2021)
    counts = lab.counts()
    assert counts["azure.msi.appservice"] == 1
    assert counts["gcp.sts.token"] == 1
    assert counts["gcp.iam.generateAccessToken"] == 1
    assert counts.get("gcp.bigquery.jobs.insert", 0) + counts.get("gcp.bigquery.jobs.query", 0) == 1
    assert "azure.msi.imds" not in counts


def test_managed_identity_imds_direct_resource_access(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The VM form of managed identity, and no service account: the federated token itself."""
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    credentials = google_credentials(lab, ManagedIdentityCredential(), impersonate=None)
    rows = list(bigquery_client(lab, credentials).query_and_wait("SELECT CURRENT_DATE() AS date"))

    assert len(rows) == 1 and isinstance(rows[0]["date"], datetime.date)
    counts = lab.counts()
    assert counts["azure.msi.imds"] == 1
    assert counts["gcp.sts.token"] == 1
    assert "gcp.iam.generateAccessToken" not in counts


def test_client_secret_through_msal_to_bigquery(lab: Lab) -> None:
    """ClientSecretCredential goes through MSAL: OIDC discovery, then the token endpoint."""
    azure = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"],
        DEVELOPER_APP,
        lab.client_secret(DEVELOPER_APP),
        disable_instance_discovery=True,
    )
    client = bigquery_client(lab, google_credentials(lab, azure))
    rows = list(
        client.query("SELECT region, orders FROM `fedlab-analytics.federation_demo.regional_sales`").result()
    )

    assert {row["region"] for row in rows} == {"westeurope", "northeurope", "eastus"}
    assert lab.counts()["entra.discovery"] >= 1
    assert lab.counts()["entra.token"] == 1


def test_azure_token_claims_are_what_the_pool_provider_expects(lab: Lab) -> None:
    token = ManagedIdentityCredential().get_token(f"{AUDIENCE_APP}/.default").token
    claims = jwt.decode(token, options={"verify_signature": False})
    provider = lab.topology.workload_identity_pool_providers[0]
    identity = lab.topology.managed_identities[0]

    assert claims["iss"] == provider.issuer_uri  # v1: https://sts.windows.net/<tenant>/
    assert claims["aud"] in provider.allowed_audiences
    assert claims["sub"] == claims["oid"] == identity.principal_id
    assert claims["appid"] == identity.client_id
    assert claims["ver"] == "1.0"
    assert claims["nbf"] <= claims["iat"] < claims["exp"]


# -- (b) Google -> Azure ----------------------------------------------------------------------


def metadata_id_token_callback() -> Any:
    """google-auth's metadata-server ID-token credentials, refreshed whenever Azure asks."""
    credentials = compute_engine.IDTokenCredentials(
        Request(), target_audience=TOKEN_EXCHANGE_AUDIENCE, use_metadata_identity_endpoint=True
    )

    def assertion() -> str:
        credentials.refresh(Request())
        return str(credentials.token)

    return assertion


def test_metadata_id_token_to_blob_listing(lab: Lab) -> None:
    from azure.storage.blob import BlobServiceClient

    credential = ClientAssertionCredential(
        os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, metadata_id_token_callback()
    )
    service = BlobServiceClient(lab.blob_account_url, credential=credential)
    names = [blob.name for blob in service.get_container_client("reports").list_blobs()]

    seeded = sorted(b.name for b in lab.topology.storage_containers[0].blobs)
    assert sorted(names) == seeded
    counts = lab.counts()
    assert counts["gcp.metadata.identity"] == 1
    assert counts["entra.token"] == 1
    assert counts["azure.blob"] == 1


def test_metadata_id_token_to_blob_listing_async(lab: Lab) -> None:
    from azure.identity.aio import ClientAssertionCredential as AsyncClientAssertionCredential
    from azure.storage.blob.aio import BlobServiceClient

    async def list_names() -> list[str]:
        # aiohttp does not read REQUESTS_CA_BUNDLE: the lab's CA is passed explicitly.
        ca = os.environ["LAB_CA_FILE"]
        credential = AsyncClientAssertionCredential(
            os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, metadata_id_token_callback(), connection_verify=ca
        )
        service = BlobServiceClient(lab.blob_account_url, credential=credential, connection_verify=ca)
        async with credential, service:
            return [blob.name async for blob in service.get_container_client("reports").list_blobs()]

    names = asyncio.run(list_names())

    assert sorted(names) == sorted(b.name for b in lab.topology.storage_containers[0].blobs)
    assert lab.counts()["entra.token"] == 1


def test_google_id_token_claims_are_what_the_federated_credential_expects(lab: Lab) -> None:
    token = metadata_id_token_callback()()
    claims = jwt.decode(token, options={"verify_signature": False})
    fic = lab.topology.application(lab.topology.tenants[0].tenant_id, BLOB_READER_APP)
    assert fic is not None
    record = fic.federated_identity_credentials[0]

    assert claims["iss"] == record.issuer == "https://accounts.google.com"
    assert claims["sub"] == record.subject  # the service account's numeric unique id
    assert claims["aud"] in record.audiences
    assert claims["email"] == lab.topology.runtime.metadata_service_account


def test_service_account_key_file_id_token_to_blob_listing(lab: Lab, tmp_path: Any) -> None:
    """google-auth's key-file ID-token credentials (JWT-bearer grant at the lab's token_uri)."""
    from azure.storage.blob import BlobServiceClient
    from google.oauth2 import service_account

    key_file = lab.service_account_key_file(
        lab.topology.runtime.metadata_service_account, tmp_path / "key.json"
    )
    id_tokens = service_account.IDTokenCredentials.from_service_account_file(
        str(key_file), target_audience=TOKEN_EXCHANGE_AUDIENCE
    )

    def assertion() -> str:
        id_tokens.refresh(Request())
        return str(id_tokens.token)

    credential = ClientAssertionCredential(os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, assertion)
    names = [
        b.name
        for b in BlobServiceClient(lab.blob_account_url, credential=credential)
        .get_container_client("reports")
        .list_blobs()
    ]

    assert sorted(names) == sorted(b.name for b in lab.topology.storage_containers[0].blobs)
    assert lab.counts()["gcp.oauth2.token"] == 1
    assert "gcp.metadata.identity" not in lab.counts()
