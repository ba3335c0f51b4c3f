"""``shared/`` end to end: the official clients, with this project's credentials, against the lab.

Azure -> Google for every Azure source the lab emulates (App Service managed identity, VM IMDS,
client secret, DefaultAzureCredential); Google -> Azure for every ID-token source (metadata
server, key file, impersonation), sync and async.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from google.cloud import bigquery

from lab.core.runtime import Lab
from shared import aio
from shared.azure_to_google import google_credentials
from shared.google_to_azure import GoogleFederatedCredential
from tests.support.federation import (
    AZURE_TO_GOOGLE_HOPS,
    CLOUD_FUNCTION_SA,
    DEVELOPER_APP,
    LOCAL_DEVELOPER_SA,
    TOP_NAMES,
    azure_to_google_env,
    azure_to_google_settings,
    bigquery_client,
    expected_top_names,
    google_to_azure_env,
    google_to_azure_settings,
    hop_counts,
    seeded_blob_names,
)

pytestmark = pytest.mark.fidelity


def top_names(client: bigquery.Client) -> list[tuple[str, int]]:
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("state", "STRING", "TX"),
            bigquery.ScalarQueryParameter("year", "INT64", 2021),
        ]
    )
    return [(row["name"], row["total"]) for row in client.query_and_wait(TOP_NAMES, job_config=config)]


# -- Azure -> Google --------------------------------------------------------------------------


def test_app_service_managed_identity_impersonates_and_queries(lab: Lab) -> None:
    credentials = google_credentials(azure_to_google_settings(lab))

    assert top_names(bigquery_client(lab, credentials)) == expected_top_names(lab, "TX", 2021)
    assert hop_counts(lab, *AZURE_TO_GOOGLE_HOPS) == (1, 1, 1)
    assert credentials.service_account_email == "bq-reader@fedlab-analytics.iam.gserviceaccount.com"


def test_imds_managed_identity_with_direct_resource_access(lab: Lab) -> None:
    env = azure_to_google_env(lab)
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "GCP_SERVICE_ACCOUNT"):
        env.pop(name)
    os_env = {k: os.environ.pop(k) for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    try:
        settings = azure_to_google_settings(lab, env, azure_source="managed_identity")
        credentials = google_credentials(settings)
        rows = list(
            bigquery_client(lab, credentials).query_and_wait(
                "SELECT region FROM `fedlab-analytics.federation_demo.regional_sales`"
            )
        )
    finally:
        os.environ.update(os_env)

    assert {row["region"] for row in rows} == {"westeurope", "northeurope", "eastus"}
    counts = lab.counts()
    assert counts["azure.msi.imds"] == 1 and counts["gcp.sts.token"] == 1
    assert "gcp.iam.generateAccessToken" not in counts  # the federated token itself, no service account


def test_client_secret_for_local_development(lab: Lab) -> None:
    env = azure_to_google_env(
        lab, AZURE_CLIENT_ID=DEVELOPER_APP, AZURE_CLIENT_SECRET=lab.client_secret(DEVELOPER_APP)
    )
    settings = azure_to_google_settings(lab, env)
    assert settings.azure_source == "client_secret"

    assert top_names(bigquery_client(lab, google_credentials(settings))) == expected_top_names(
        lab, "TX", 2021
    )
    assert lab.counts()["entra.token"] == 1
    assert "azure.msi.appservice" not in lab.counts()


def test_default_azure_credential_finds_the_managed_identity(lab: Lab) -> None:
    settings = azure_to_google_settings(lab, azure_source="default")
    rows = list(
        bigquery_client(lab, google_credentials(settings)).query_and_wait("SELECT CURRENT_DATE() AS date")
    )

    assert isinstance(rows[0]["date"], datetime.date)
    assert lab.counts()["gcp.sts.token"] == 1


# -- Google -> Azure --------------------------------------------------------------------------


def list_blobs(lab: Lab, credential: GoogleFederatedCredential) -> list[str]:
    service = BlobServiceClient(lab.blob_account_url, credential=credential)
    return sorted(blob.name for blob in service.get_container_client("reports").list_blobs())


def test_metadata_server_id_token_lists_blobs(lab: Lab) -> None:
    credential = GoogleFederatedCredential(google_to_azure_settings())
    assert credential.settings.id_token_source == "metadata"

    assert list_blobs(lab, credential) == seeded_blob_names(lab)
    counts = lab.counts()
    assert (counts["gcp.metadata.identity"], counts["entra.token"]) == (1, 1)


def test_key_file_id_token_lists_blobs(lab: Lab, tmp_path: Path) -> None:
    key_file = lab.service_account_key_file(CLOUD_FUNCTION_SA, tmp_path / "key.json")
    settings = google_to_azure_settings(google_to_azure_env(GOOGLE_APPLICATION_CREDENTIALS=str(key_file)))
    assert settings.id_token_source == "key_file"

    assert list_blobs(lab, GoogleFederatedCredential(settings)) == seeded_blob_names(lab)
    assert lab.counts()["gcp.oauth2.token"] == 1
    assert "gcp.metadata.identity" not in lab.counts()


def test_impersonated_id_token_from_local_adc_lists_blobs(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adc = lab.service_account_key_file(LOCAL_DEVELOPER_SA, tmp_path / "adc.json")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    settings = google_to_azure_settings(
        google_to_azure_env(
            GOOGLE_APPLICATION_CREDENTIALS=str(adc), GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=CLOUD_FUNCTION_SA
        )
    )
    assert settings.id_token_source == "impersonation"

    assert list_blobs(lab, GoogleFederatedCredential(settings)) == seeded_blob_names(lab)
    counts = lab.counts()
    assert (counts["gcp.oauth2.token"], counts["gcp.iam.generateIdToken"], counts["entra.token"]) == (1, 1, 1)


def test_async_credential_lists_blobs_with_the_async_client(lab: Lab) -> None:
    from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

    ca = os.environ["LAB_CA_FILE"]  # aiohttp does not read REQUESTS_CA_BUNDLE

    async def names() -> list[str]:
        async with (
            aio.GoogleFederatedCredential(google_to_azure_settings(), connection_verify=ca) as credential,
            AsyncBlobServiceClient(
                lab.blob_account_url, credential=credential, connection_verify=ca
            ) as service,
        ):
            return sorted([b.name async for b in service.get_container_client("reports").list_blobs()])

    assert asyncio.run(names()) == seeded_blob_names(lab)
    assert lab.counts()["entra.token"] == 1


def test_token_info_and_access_token_agree(lab: Lab) -> None:
    credential = GoogleFederatedCredential(google_to_azure_settings())
    info = credential.get_token_info("https://storage.azure.com/.default")
    token = credential.get_token("https://storage.azure.com/.default")

    assert (
        token.token == info.token and token.expires_on == info.expires_on
    )  # the held token, no second fetch
    assert lab.counts()["entra.token"] == 1
    assert info.expires_on > datetime.datetime.now().timestamp()
