"""Each function's own settings, beside the federation's: read once per instance, by the function and by doctor.

The Cloud Function (:class:`CloudFunctionSettings`, Google -> Azure, lists blobs)::

    AZURE_STORAGE_ACCOUNT_URL       https://<account>.blob.core.windows.net
    AZURE_STORAGE_CONTAINER         the container listed when the request names none
    and the federation's: see :class:`shared.settings.GoogleToAzureSettings`

The Function App (:class:`FunctionAppSettings`, Azure -> Google, queries BigQuery)::

    BIGQUERY_PROJECT                the project jobs run in (and are billed to); or GOOGLE_CLOUD_PROJECT
    BIGQUERY_LOCATION               default US, where usa_names lives
    BIGQUERY_MAXIMUM_BYTES_BILLED   default 1000000000: a query that would scan more fails
    BIGQUERY_TIMEOUT_S              default 20: retries and waiting, all told (1 to 600)
    BIGQUERY_API_ENDPOINT           optional: a Private Service Connect endpoint
    and the federation's: see :class:`shared.settings.AzureToGoogleSettings`

``from_env`` reports every problem at once, the function's and the federation's, in one
:class:`shared.errors.SettingsError`. Doctor reads them with ``data_required=False``: without the
data service's address it checks the federation only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings, https_url_problems, read_with

ACCOUNT_URL_RULE = "the account's blob endpoint, https://<account>.blob.core.windows.net"


@dataclass(frozen=True)
class CloudFunctionSettings:
    """The Cloud Function's settings: the storage account, the default container, the federation."""

    account_url: str  # "" only when read with data_required=False and unset
    container: str | None  # None: every request must name one
    federation: GoogleToAzureSettings

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, data_required: bool = True
    ) -> CloudFunctionSettings:
        """Read and validate; :class:`SettingsError` names every variable to fix."""
        env = os.environ if environ is None else environ
        account_url = env.get("AZURE_STORAGE_ACCOUNT_URL")
        problems = []
        if data_required or account_url is not None:
            problems = https_url_problems(
                "AZURE_STORAGE_ACCOUNT_URL", account_url or "", expected=ACCOUNT_URL_RULE
            )
        federation = read_with(problems, lambda: GoogleToAzureSettings.from_env(env))
        return cls(account_url or "", env.get("AZURE_STORAGE_CONTAINER") or None, federation)


@dataclass(frozen=True)
class FunctionAppSettings:
    """The Function App's settings: where and how BigQuery jobs run, and the federation."""

    project: str  # "" only when read with data_required=False and unset
    location: str
    maximum_bytes_billed: int
    timeout_s: float  # retries and waiting, all told
    api_endpoint: str | None
    federation: AzureToGoogleSettings

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, data_required: bool = True
    ) -> FunctionAppSettings:
        """Read and validate; :class:`SettingsError` names every variable to fix."""
        env = os.environ if environ is None else environ
        project = env.get("BIGQUERY_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT", "")
        endpoint = env.get("BIGQUERY_API_ENDPOINT", "")
        max_bytes = env.get("BIGQUERY_MAXIMUM_BYTES_BILLED", "1000000000")
        timeout_s = _seconds(env.get("BIGQUERY_TIMEOUT_S", "20"))
        problems = []
        if not project and data_required:
            problems.append(("BIGQUERY_PROJECT", "the Google Cloud project ID the query jobs run in"))
        if endpoint:
            problems += https_url_problems("BIGQUERY_API_ENDPOINT", endpoint)
        if not max_bytes.isdigit() or int(max_bytes) < 1:
            problems.append(
                ("BIGQUERY_MAXIMUM_BYTES_BILLED", f"a positive whole number of bytes; got {max_bytes!r}")
            )
        if not 1 <= timeout_s <= 600:
            problems.append(
                ("BIGQUERY_TIMEOUT_S", f"seconds, from 1 to 600; got {env.get('BIGQUERY_TIMEOUT_S')!r}")
            )
        federation = read_with(problems, lambda: AzureToGoogleSettings.from_env(env))
        return cls(
            project=project,
            location=env.get("BIGQUERY_LOCATION") or "US",
            maximum_bytes_billed=int(max_bytes),
            timeout_s=timeout_s,
            api_endpoint=endpoint or None,
            federation=federation,
        )


def _seconds(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0
