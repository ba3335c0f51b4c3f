"""Settings and clients for tests of ``shared/`` against the lab (values from the default topology)."""

from __future__ import annotations

import os
from typing import Any

from google.cloud import bigquery

from lab.runtime import Lab
from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings, RetrySettings

AUDIENCE_APP = "api://333d03c9-522a-4b89-bdd2-f529e295595a"
BQ_READER = "bq-reader@fedlab-analytics.iam.gserviceaccount.com"
BLOB_READER_APP = "d14d8b14-1160-4596-89f8-4e6d8dffc30c"
DEVELOPER_APP = "432201a8-6ef7-467c-9cf0-f6221751ee5e"
CLOUD_FUNCTION_SA = "blob-reader-fn@fedlab-analytics.iam.gserviceaccount.com"
LOCAL_DEVELOPER_SA = "local-developer@fedlab-analytics.iam.gserviceaccount.com"
STORAGE_SCOPE = "https://storage.azure.com/.default"
# Quick retries so fault tests finish fast; the shape of the policy is the production one.
FAST_RETRY = RetrySettings(
    attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05, deadline_s=10, attempt_timeout_s=3
)


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
        project="fedlab-analytics",
        credentials=credentials,
        client_options={"api_endpoint": lab.url("gcp.bigquery")},
    )


def seeded_blob_names(lab: Lab) -> list[str]:
    return sorted(b.name for b in lab.topology.storage_containers[0].blobs)
