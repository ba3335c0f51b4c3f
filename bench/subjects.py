"""What is compared: for each direction, this project and the official library used as its docs show.

A *subject* makes token requests the way a client SDK does on every call: for Azure -> Google,
``credentials.before_request()`` (what every google-cloud client runs before each HTTP call);
for Google -> Azure, ``credential.get_token(scope)`` (what every Azure SDK pipeline runs).
``naive`` builds a new official credential for every request: a full exchange each time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.lab_process import LabProcess as Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings

AZURE_TO_GCP = "azure_to_gcp"
GCP_TO_AZURE = "gcp_to_azure"
THIS_PROJECT = "this project"
GOOGLE_AUTH = "google-auth"
AZURE_IDENTITY = "azure-identity"
NAIVE = "naive"
STORAGE_SCOPE = "https://storage.azure.com/.default"
SUBJECTS = {
    AZURE_TO_GCP: (THIS_PROJECT, GOOGLE_AUTH, NAIVE),
    GCP_TO_AZURE: (THIS_PROJECT, AZURE_IDENTITY, NAIVE),
}

TokenRequest = Callable[[], str]


@dataclass
class Subject:
    """One credential (a new instance: nothing cached) and how to ask it for a token."""

    direction: str
    name: str
    request_token: TokenRequest
    credential: Any


def make(lab: Lab, direction: str, name: str) -> Subject:
    """A fresh instance of ``name`` for ``direction``, pointed at the lab."""
    build = _AZURE_TO_GCP if direction == AZURE_TO_GCP else _GCP_TO_AZURE
    credential, request_token = build[name](lab)
    return Subject(direction, name, request_token, credential)


# -- Azure -> Google --------------------------------------------------------------------------


def _ours_azure_to_gcp(lab: Lab) -> tuple[Any, TokenRequest]:
    from google.auth.transport.requests import Request

    from shared.azure_to_google import google_credentials
    from shared.settings import AzureToGoogleSettings

    credentials = google_credentials(
        AzureToGoogleSettings.from_env({**os.environ, **function_app_settings(lab)})
    )
    request = Request()
    return credentials, lambda: _bearer(credentials, request)


def _google_auth(lab: Lab) -> tuple[Any, TokenRequest]:
    """google-auth's identity_pool.Credentials with a subject-token supplier backed by azure-identity."""
    from azure.identity import ManagedIdentityCredential
    from google.auth import identity_pool
    from google.auth.transport.requests import Request

    settings = function_app_settings(lab)
    azure = ManagedIdentityCredential()

    class AzureSupplier(identity_pool.SubjectTokenSupplier):
        def get_subject_token(self, context: Any, request: Any) -> str:
            return str(azure.get_token(f"{settings['AZURE_TOKEN_AUDIENCE']}/.default").token)

    credentials = identity_pool.Credentials(
        audience=lab.sts_audience(),
        subject_token_type="urn:ietf:params:oauth:token-type:jwt",  # noqa: S106 - a type name
        token_url=os.environ["GOOGLE_STS_TOKEN_URL"],
        subject_token_supplier=AzureSupplier(),
        service_account_impersonation_url=lab.impersonation_url(settings["GCP_SERVICE_ACCOUNT"]),
        scopes=["https://www.googleapis.com/auth/cloud-platform"],
        universe_domain=os.environ["GOOGLE_CLOUD_UNIVERSE_DOMAIN"],
    )
    request = Request()
    return credentials, lambda: _bearer(credentials, request)


def _naive_azure_to_gcp(lab: Lab) -> tuple[Any, TokenRequest]:
    return None, lambda: _google_auth(lab)[1]()


def _bearer(credentials: Any, request: Any) -> str:
    headers: dict[str, str] = {}
    credentials.before_request(request, "GET", "https://bigquery.lab.internal/", headers)
    return headers["authorization"].removeprefix("Bearer ")


# -- Google -> Azure --------------------------------------------------------------------------


def _ours_gcp_to_azure(lab: Lab) -> tuple[Any, TokenRequest]:
    from shared.google_to_azure import GoogleFederatedCredential
    from shared.settings import GoogleToAzureSettings

    credential = GoogleFederatedCredential(
        GoogleToAzureSettings.from_env({**os.environ, **cloud_function_settings(lab)})
    )
    return credential, lambda: str(credential.get_token(STORAGE_SCOPE).token)


def _azure_identity(lab: Lab) -> tuple[Any, TokenRequest]:
    """azure-identity's ClientAssertionCredential whose callback fetches a metadata-server ID token."""
    from azure.identity import ClientAssertionCredential
    from google.auth import compute_engine
    from google.auth.transport.requests import Request

    settings = cloud_function_settings(lab)
    id_tokens = compute_engine.IDTokenCredentials(
        Request(), target_audience="api://AzureADTokenExchange", use_metadata_identity_endpoint=True
    )

    def assertion() -> str:
        id_tokens.refresh(Request())
        return str(id_tokens.token)

    credential = ClientAssertionCredential(
        settings["AZURE_TENANT_ID"], settings["AZURE_CLIENT_ID"], assertion
    )
    return credential, lambda: str(credential.get_token(STORAGE_SCOPE).token)


def _naive_gcp_to_azure(lab: Lab) -> tuple[Any, TokenRequest]:
    return None, lambda: _azure_identity(lab)[1]()


_AZURE_TO_GCP = {THIS_PROJECT: _ours_azure_to_gcp, GOOGLE_AUTH: _google_auth, NAIVE: _naive_azure_to_gcp}
_GCP_TO_AZURE = {
    THIS_PROJECT: _ours_gcp_to_azure,
    AZURE_IDENTITY: _azure_identity,
    NAIVE: _naive_gcp_to_azure,
}
