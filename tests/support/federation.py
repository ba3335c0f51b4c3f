"""Settings and clients for tests of ``shared/`` against the lab (values from the default topology)."""

from __future__ import annotations

import os
from typing import Any

from google.cloud import bigquery

from lab.core.runtime import Lab
from lab.core.topology import DEFAULT_TOPOLOGY, load
from lab.hosting.functions import blob_reader_app, function_app_identity, impersonated_account
from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings
from tests.support.retries import FAST_RETRY

# The default topology's parts these tests use, found the way the functions' settings are.
TOPOLOGY = load(DEFAULT_TOPOLOGY)
AUDIENCE_APP = TOPOLOGY.workload_identity_pool_providers[0].allowed_audiences[0]
BQ_READER = impersonated_account(TOPOLOGY, function_app_identity(TOPOLOGY).principal_id)
BLOB_READER_APP = blob_reader_app(TOPOLOGY).client_id
DEVELOPER_APP = next(app.client_id for app in TOPOLOGY.applications if app.password)  # the one with a secret
CLOUD_FUNCTION_SA = TOPOLOGY.runtime.metadata_service_account
LOCAL_DEVELOPER_SA = next(  # the account that may mint the Cloud Function account's ID tokens
    member.removeprefix("serviceAccount:")
    for binding in TOPOLOGY.iam_bindings
    if binding.role == "roles/iam.serviceAccountTokenCreator" and binding.resource.endswith(CLOUD_FUNCTION_SA)
    for member in binding.members
)
PROVIDER = TOPOLOGY.workload_identity_pool_providers[0]
PROJECT = PROVIDER.project_id  # where the pool, the service accounts and the BigQuery jobs are
PROJECT_NUMBER = next(p.number for p in TOPOLOGY.projects if p.project_id == PROJECT)
POOL_PRINCIPAL = (  # the pool's principal:// prefix, as IAM bindings name its identities
    f"principal://iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
    f"{PROVIDER.workload_identity_pool_id}"
)
STORAGE_SCOPE = "https://storage.azure.com/.default"  # Azure Storage's scope (not the topology's)


def azure_to_google_env(lab: Lab, **extra: str) -> dict[str, str]:
    """The Azure Function's environment in the lab: the lab's exports plus the federation settings."""
    return {
        **os.environ,
        "GCP_WORKLOAD_IDENTITY_PROVIDER": lab.sts_audience().removeprefix("//iam.googleapis.com/"),
        "AZURE_TOKEN_AUDIENCE": AUDIENCE_APP,
        "GCP_SERVICE_ACCOUNT": BQ_READER,
        **extra,
    }


def azure_to_google_settings(
    lab: Lab, env: dict[str, str] | None = None, **overrides: Any
) -> AzureToGoogleSettings:
    overrides.setdefault("retry", FAST_RETRY)
    return AzureToGoogleSettings.from_env(env or azure_to_google_env(lab), **overrides)


def google_to_azure_env(**extra: str) -> dict[str, str]:
    """The Cloud Function's environment in the lab."""
    return {**os.environ, "AZURE_CLIENT_ID": BLOB_READER_APP, **extra}


def google_to_azure_settings(env: dict[str, str] | None = None, **overrides: Any) -> GoogleToAzureSettings:
    overrides.setdefault("retry", FAST_RETRY)
    return GoogleToAzureSettings.from_env(env or google_to_azure_env(), **overrides)


def bigquery_client(lab: Lab, credentials: Any) -> bigquery.Client:
    """google-cloud-bigquery, unchanged, pointed at the lab (the universe comes from the environment)."""
    return bigquery.Client(
        project=PROJECT,
        credentials=credentials,
        client_options={"api_endpoint": lab.url("gcp.bigquery")},
    )


def seeded_blob_names(lab: Lab) -> list[str]:
    return sorted(b.name for b in lab.topology.storage_containers[0].blobs)


TOP_NAMES = (
    "SELECT name, SUM(number) AS total FROM `bigquery-public-data.usa_names.usa_1910_current` "
    "WHERE state = @state AND year = @year GROUP BY name ORDER BY total DESC, name LIMIT 3"
)


def expected_top_names(lab: Lab, state: str, year: int) -> list[tuple[str, int]]:
    """What ``TOP_NAMES`` must return, computed from the lab's seeded sample."""
    table = next(d for d in lab.topology.bigquery_datasets if d.dataset_id == "usa_names").tables[0]
    totals: dict[str, int] = {}
    for row_state, _gender, row_year, name, number in table.rows:
        if row_state == state and row_year == year:
            totals[name] = totals.get(name, 0) + number
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:3]


def hop_counts(lab: Lab, *hops: str) -> tuple[int, ...]:
    """The lab's request counts of ``hops``, in order (0 for a hop never called)."""
    counts = lab.counts()
    return tuple(counts.get(hop, 0) for hop in hops)


AZURE_TO_GOOGLE_HOPS = ("azure.msi.appservice", "gcp.sts.token", "gcp.iam.generateAccessToken")
