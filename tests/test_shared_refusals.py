"""Real misconfigurations against the lab, through ``shared/``: the translated error says what to change.

Each case breaks one setting or one piece of the topology, asks for a token the way an
application would, and checks the :mod:`shared.errors` exception: its class and code, that
its message names the setting (or the exact IAM member) to fix, that SDK code catching
``RefreshError`` or ``ClientAuthenticationError`` catches it, that it carries no token, and
that the refusing hop was asked exactly once (a 4xx is not retried).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from azure.core.exceptions import ClientAuthenticationError
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request

from lab.core.runtime import Lab
from lab.hosting.functions import function_app_identity
from lab.scenarios.misconfigurations import UNKNOWN_GUID
from shared import errors
from shared.azure_to_google import google_credentials
from shared.google_to_azure import GoogleFederatedCredential
from tests.support.federation import (
    BLOB_READER_APP,
    CLOUD_FUNCTION_SA,
    LOCAL_DEVELOPER_SA,
    POOL_PRINCIPAL,
    STORAGE_SCOPE,
    azure_to_google_env,
    azure_to_google_settings,
    bigquery_client,
    google_to_azure_env,
    google_to_azure_settings,
)
from tests.support.topology_edits import drop_binding, replace_blob_reader_fic, replace_provider

pytestmark = pytest.mark.misconfig

Refusal = TypeVar("Refusal", bound=errors.FederationError)


# -- helpers ----------------------------------------------------------------------------------


def refused(lab: Lab, attempt: Callable[[], Any], expected: type[Refusal], hop: str) -> Refusal:
    """Run ``attempt``; it must raise ``expected`` after exactly one request to the lab's ``hop``.

    Also checks what every translated refusal promises: catchable as both SDKs' authentication
    errors, a hop and a fix, and no token or secret the lab handed out in its text.
    """
    with pytest.raises(expected) as raised:
        attempt()
    error = raised.value
    assert isinstance(error, RefreshError) and isinstance(error, ClientAuthenticationError)
    assert error.hop and error.fix
    text = f"{error}\n{error!r}"
    assert not [secret for secret in lab.minted() if secret in text], "a token or secret is in the error"
    assert lab.counts().get(hop) == 1, f"{hop} was asked {lab.counts().get(hop)} times: {lab.counts()}"
    return error


def google_refresh(lab: Lab, env: dict[str, str] | None = None, **overrides: Any) -> Callable[[], None]:
    """The Azure Function's first token: build the shared Google credentials and refresh them."""
    credentials = google_credentials(azure_to_google_settings(lab, env, **overrides))
    return lambda: credentials.refresh(Request())


def azure_token(env: dict[str, str] | None = None, **overrides: Any) -> Callable[[], Any]:
    """The Cloud Function's first Azure token for Blob Storage, through the shared credential."""
    credential = GoogleFederatedCredential(google_to_azure_settings(env, **overrides))
    return lambda: credential.get_token(STORAGE_SCOPE)


def tenant_id(lab: Lab) -> str:
    return lab.topology.tenants[0].tenant_id


# -- Azure -> Google: STS ---------------------------------------------------------------------


def test_wrong_provider_id_names_the_provider_setting(lab: Lab) -> None:
    env = azure_to_google_env(
        lab,
        GCP_WORKLOAD_IDENTITY_PROVIDER=lab.sts_audience()
        .removeprefix("//iam.googleapis.com/")
        .replace("/providers/entra-id", "/providers/entra-idp"),
    )
    error = refused(lab, google_refresh(lab, env), errors.StsRefusal, "gcp.sts.token")

    assert error.code == "invalid_target" and error.status == 400
    assert "GCP_WORKLOAD_IDENTITY_PROVIDER" in str(error)
    assert "providers/entra-idp" in error.fix  # the value in use, to compare with the console
    assert "gcp.iam.generateAccessToken" not in lab.counts()


def test_audience_the_provider_does_not_allow_names_the_audience_setting(lab: Lab) -> None:
    # The Cloud Function's app registration, by client ID: Entra issues the token, STS refuses it.
    env = azure_to_google_env(lab, AZURE_TOKEN_AUDIENCE=BLOB_READER_APP)
    error = refused(lab, google_refresh(lab, env), errors.StsRefusal, "gcp.sts.token")

    assert error.code == "invalid_grant"
    assert "AZURE_TOKEN_AUDIENCE" in error.fix and BLOB_READER_APP in error.fix
    assert "allowed_audiences" in error.fix
    assert lab.counts()["azure.msi.appservice"] == 1


def test_audience_with_no_app_in_the_tenant_is_refused_by_the_managed_identity(lab: Lab) -> None:
    # An application ID URI no app registration has: the identity endpoint relays Entra's
    # AADSTS500011 (in App Service's {"statusCode", "message"} shape) before STS is asked.
    env = azure_to_google_env(lab, AZURE_TOKEN_AUDIENCE=f"api://{BLOB_READER_APP}")
    error = refused(lab, google_refresh(lab, env), errors.EntraRefusal, "azure.msi.appservice")

    assert (error.hop, error.code) == ("azure.msi", "AADSTS500011")
    assert f"api://{BLOB_READER_APP}" in str(error)
    assert "configuration not found" not in str(error), "azure-identity's misleading prefix is dropped"
    assert "AZURE_TOKEN_AUDIENCE" in error.fix
    assert "gcp.sts.token" not in lab.counts()


def test_attribute_condition_refusal_names_the_identity(lab: Lab) -> None:
    replace_provider(lab, attribute_condition="assertion.oid == '00000000-0000-0000-0000-000000000000'")
    error = refused(lab, google_refresh(lab), errors.StsRefusal, "gcp.sts.token")

    assert error.code == "unauthorized_client"
    assert "attribute_condition" in error.fix
    assert f"oid={function_app_identity(lab.topology).principal_id}" in error.fix
    assert f"tid={tenant_id(lab)}" in error.fix


def test_issuer_version_mismatch_explains_v1_and_v2(lab: Lab) -> None:
    replace_provider(lab, issuer_uri=f"https://login.microsoftonline.com/{tenant_id(lab)}/v2.0")
    error = refused(lab, google_refresh(lab), errors.StsRefusal, "gcp.sts.token")

    assert error.code == "invalid_grant"
    assert "issuer" in str(error)
    assert "v1" in error.fix and "v2" in error.fix
    assert f"https://sts.windows.net/{tenant_id(lab)}/" in str(error)  # what the token carried


# -- Azure -> Google: IAM Credentials ---------------------------------------------------------


def test_missing_workload_identity_user_names_role_and_exact_member(lab: Lab) -> None:
    drop_binding(lab, "roles/iam.workloadIdentityUser")
    credentials = google_credentials(azure_to_google_settings(lab))
    client = bigquery_client(lab, credentials)
    error = refused(
        lab, lambda: client.query_and_wait("SELECT 1"), errors.IamRefusal, "gcp.iam.generateAccessToken"
    )

    assert error.status == 403 and error.code == "PERMISSION_DENIED"
    assert "roles/iam.workloadIdentityUser" in error.fix
    member = f"{POOL_PRINCIPAL}/subject/{function_app_identity(lab.topology).principal_id}"
    assert member in error.fix
    assert "bq-reader@fedlab-analytics.iam.gserviceaccount.com" in error.fix
    assert lab.counts()["gcp.sts.token"] == 1
    assert not [hop for hop in lab.counts() if hop.startswith("gcp.bigquery")]  # the query never left


def test_service_account_that_does_not_exist_is_404_naming_the_setting(lab: Lab) -> None:
    missing = "bq-readr@fedlab-analytics.iam.gserviceaccount.com"
    env = azure_to_google_env(lab, GCP_SERVICE_ACCOUNT=missing)
    error = refused(lab, google_refresh(lab, env), errors.IamRefusal, "gcp.iam.generateAccessToken")

    assert error.status == 404
    assert "GCP_SERVICE_ACCOUNT" in error.fix and missing in error.fix


# -- Google -> Azure: Entra ID ----------------------------------------------------------------


def test_unknown_client_id_is_aadsts700016_with_correlation_id(lab: Lab) -> None:
    error = refused(
        lab,
        azure_token(google_to_azure_env(AZURE_CLIENT_ID=UNKNOWN_GUID)),
        errors.EntraRefusal,
        "entra.token",
    )

    assert error.code == "AADSTS700016" and error.status == 400
    assert error.correlation_id and error.correlation_id in str(error)
    assert "AZURE_CLIENT_ID" in error.fix
    assert UNKNOWN_GUID in str(error)


def test_unknown_tenant_is_aadsts90002_naming_the_tenant_setting(lab: Lab) -> None:
    env = google_to_azure_env(AZURE_TENANT_ID="11111111-2222-4333-8444-555555555555")
    error = refused(lab, azure_token(env), errors.EntraRefusal, "entra.token")

    assert error.code == "AADSTS90002"
    assert "AZURE_TENANT_ID" in error.fix


def test_federated_credential_subject_mismatch_shows_the_assertion_claims(lab: Lab) -> None:
    replace_blob_reader_fic(lab, subject=CLOUD_FUNCTION_SA)  # the e-mail, where the unique ID belongs
    credential = GoogleFederatedCredential(google_to_azure_settings())
    error = refused(lab, lambda: credential.get_token(STORAGE_SCOPE), errors.EntraRefusal, "entra.token")

    assert error.code == "AADSTS70021"
    function_account = lab.topology.service_account(CLOUD_FUNCTION_SA)
    assert function_account is not None
    claims = credential.last_assertion_claims
    assert claims["sub"] == function_account.unique_id
    for name in ("iss", "sub", "aud"):
        assert f"{name}={claims[name]}" in str(error)
    assert lab.counts()["gcp.metadata.identity"] == 1


def test_id_token_audience_the_credential_does_not_accept_is_aadsts700212(lab: Lab) -> None:
    env = google_to_azure_env(GOOGLE_ID_TOKEN_AUDIENCE="api://some-other-audience")
    error = refused(lab, azure_token(env), errors.EntraRefusal, "entra.token")

    assert error.code == "AADSTS700212"
    assert "GOOGLE_ID_TOKEN_AUDIENCE" in error.fix
    assert "aud=api://some-other-audience" in str(error)


# -- Google -> Azure: IAM generateIdToken (local development) ---------------------------------


def test_impersonation_without_token_creator_names_role_and_caller(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adc = lab.service_account_key_file(LOCAL_DEVELOPER_SA, tmp_path / "adc.json")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))  # google.auth.default() reads it
    drop_binding(lab, "roles/iam.serviceAccountTokenCreator")
    env = google_to_azure_env(
        GOOGLE_ID_TOKEN_SOURCE="impersonation",
        GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=CLOUD_FUNCTION_SA,
        GOOGLE_APPLICATION_CREDENTIALS=str(adc),
    )
    error = refused(lab, azure_token(env), errors.IamRefusal, "gcp.iam.generateIdToken")

    assert error.status == 403
    assert "roles/iam.serviceAccountTokenCreator" in error.fix
    assert f"serviceAccount:{LOCAL_DEVELOPER_SA}" in error.fix
    assert CLOUD_FUNCTION_SA in error.fix
    assert "entra.token" not in lab.counts()
