"""The lab refuses the way the clouds refuse: status, error code and message shape.

Each case breaks one thing in the topology (or the request) that users really get wrong,
and checks the wire response; a few also check what the official SDK raises from it.
"""

from __future__ import annotations

import dataclasses
import os
import re

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientAssertionCredential, ManagedIdentityCredential
from google.api_core.exceptions import Forbidden
from google.auth import exceptions as google_auth_exceptions
from google.auth.transport.requests import Request

from lab.core.keys import ENTRA, GOOGLE
from lab.core.runtime import Lab
from lab.core.topology import IamBinding
from tests.support.federation import AUDIENCE_APP, BLOB_READER_APP, BQ_READER, CLOUD_FUNCTION_SA
from tests.support.topology_edits import drop_binding, replace_blob_reader_fic, replace_provider
from tests.test_fidelity import (
    SUBJECT_JWT,
    TOKEN_EXCHANGE_AUDIENCE,
    bigquery_client,
    google_credentials,
)

pytestmark = pytest.mark.fidelity

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- helpers ----------------------------------------------------------------------------------


def google_id_token(audience: str = TOKEN_EXCHANGE_AUDIENCE) -> str:
    response = requests.get(
        f"http://{os.environ['GCE_METADATA_HOST']}/computeMetadata/v1/instance/service-accounts/default/identity",
        params={"audience": audience, "format": "full"},
        headers={"Metadata-Flavor": "Google"},
        timeout=5,
    )
    response.raise_for_status()
    return response.text


def entra_token(
    assertion: str,
    *,
    tenant: str | None = None,
    client_id: str = BLOB_READER_APP,
    scope: str = "https://storage.azure.com/.default",
) -> requests.Response:
    return requests.post(
        f"{os.environ['AZURE_AUTHORITY_HOST']}/{tenant or os.environ['AZURE_TENANT_ID']}/oauth2/v2.0/token",
        data={
            "client_id": client_id,
            "scope": scope,
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
        },
        timeout=5,
    )


def assert_aadsts(response: requests.Response, status: int, error: str, code: int) -> str:
    """Entra's real error shape; returns the description."""
    body = response.json()
    assert response.status_code == status
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert GUID.match(body["trace_id"]) and GUID.match(body["correlation_id"])
    assert f"Correlation ID: {body['correlation_id']}" in body["error_description"]
    return str(body["error_description"])


def azure_subject_token() -> str:
    return str(ManagedIdentityCredential().get_token(f"{AUDIENCE_APP}/.default").token)


def sts_exchange(lab: Lab, subject_token: str, audience: str | None = None) -> requests.Response:
    return requests.post(
        os.environ["LAB_STS_URL"],
        data={
            "grant_type": TOKEN_EXCHANGE,
            "audience": audience if audience is not None else lab.sts_audience(),
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "subject_token": subject_token,
            "subject_token_type": SUBJECT_JWT,
        },
        timeout=5,
    )


def assert_sts_error(response: requests.Response, error: str, fragment: str) -> None:
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert fragment in body["error_description"]


# -- Entra ID: the client assertion and the federated identity credential --------------------


def test_wrong_fic_subject_is_aadsts70021_naming_the_assertion(lab: Lab) -> None:
    replace_blob_reader_fic(lab, subject=CLOUD_FUNCTION_SA)
    description = assert_aadsts(entra_token(google_id_token()), 400, "invalid_request", 70021)
    assert "Assertion Issuer: 'https://accounts.google.com'" in description
    assert "Assertion Subject: '578801583304294727810'" in description
    assert f"Assertion Audience: '{TOKEN_EXCHANGE_AUDIENCE}'" in description


def test_fic_subject_differing_only_in_case_is_aadsts7002138(lab: Lab) -> None:
    # Google subjects are digits; a mixed-case subject shows Entra's case-sensitive matching.
    replace_blob_reader_fic(lab, subject="Projects/Fedlab/Reader")
    now = int(lab.controls.now())
    assertion = lab.keys.mint(
        GOOGLE,
        {"iss": "https://accounts.google.com", "sub": "projects/fedlab/reader", "aud": TOKEN_EXCHANGE_AUDIENCE,
         "iat": now, "exp": now + 600},
    )  # fmt: skip
    description = assert_aadsts(entra_token(assertion), 400, "invalid_request", 7002138)
    assert "case-sensitive" in description and "'projects/fedlab/reader'" in description


def test_fic_issuer_mismatch_is_aadsts700211(lab: Lab) -> None:
    replace_blob_reader_fic(lab, issuer="https://accounts.google.com/")
    description = assert_aadsts(entra_token(google_id_token()), 400, "invalid_request", 700211)
    assert "issuer 'https://accounts.google.com'" in description


def test_fic_audience_mismatch_is_aadsts700212(lab: Lab) -> None:
    description = assert_aadsts(
        entra_token(google_id_token("api://wrong-audience")), 400, "invalid_request", 700212
    )
    assert "'api://wrong-audience'" in description


def test_expired_assertion_is_aadsts700024(lab: Lab) -> None:
    assertion = google_id_token()
    lab.controls.clock_skew_s = 3600 + 301  # past expiry plus Entra's five minutes of tolerance
    description = assert_aadsts(entra_token(assertion), 401, "invalid_client", 700024)
    assert "not within its valid time range" in description and "Current time:" in description


def test_malformed_assertion_is_aadsts50027(lab: Lab) -> None:
    assert_aadsts(entra_token("not-a-jwt"), 400, "invalid_request", 50027)


def test_assertion_signed_by_another_key_is_aadsts700027(lab: Lab) -> None:
    now = int(lab.controls.now())
    forged = lab.keys.mint(
        ENTRA,  # right claims, wrong issuer key
        {"iss": "https://accounts.google.com", "sub": "578801583304294727810", "aud": TOKEN_EXCHANGE_AUDIENCE,
         "iat": now, "exp": now + 600},
    )  # fmt: skip
    assert_aadsts(entra_token(forged), 401, "invalid_client", 700027)


def test_unknown_application_is_aadsts700016(lab: Lab) -> None:
    description = assert_aadsts(
        entra_token(google_id_token(), client_id="0f0f0f0f-0000-4000-8000-000000000000"),
        400,
        "unauthorized_client",
        700016,
    )
    assert "'0f0f0f0f-0000-4000-8000-000000000000' was not found in the directory" in description


def test_unknown_tenant_is_aadsts90002(lab: Lab) -> None:
    description = assert_aadsts(
        entra_token(google_id_token(), tenant="11111111-2222-4333-8444-555555555555"),
        400,
        "invalid_request",
        90002,
    )
    assert "Tenant '11111111-2222-4333-8444-555555555555' not found" in description


def test_unknown_resource_is_aadsts500011(lab: Lab) -> None:
    description = assert_aadsts(
        entra_token(google_id_token(), scope="api://no-such-app/.default"), 400, "invalid_resource", 500011
    )
    assert "resource principal named api://no-such-app" in description


def test_azure_identity_surfaces_the_aadsts_code(lab: Lab) -> None:
    replace_blob_reader_fic(lab, subject="someone-else")
    credential = ClientAssertionCredential(os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, google_id_token)
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        credential.get_token("https://storage.azure.com/.default")


def test_managed_identity_endpoint_requires_the_identity_header(lab: Lab) -> None:
    response = requests.get(
        os.environ["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": AUDIENCE_APP},
        headers={"X-IDENTITY-HEADER": "wrong"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_request"


# -- Google STS -------------------------------------------------------------------------------


def test_sts_audience_with_project_id_instead_of_number_is_invalid_target(lab: Lab) -> None:
    audience = lab.sts_audience().replace("/projects/654689386374/", "/projects/fedlab-analytics/")
    assert_sts_error(sts_exchange(lab, azure_subject_token(), audience), "invalid_target", "pool or provider")


def test_sts_audience_without_leading_slashes_is_invalid_request(lab: Lab) -> None:
    audience = lab.sts_audience().removeprefix("//")
    assert_sts_error(
        sts_exchange(lab, azure_subject_token(), audience), "invalid_request", 'Invalid value for "audience"'
    )


def test_sts_wrong_pool_is_invalid_target(lab: Lab) -> None:
    audience = lab.sts_audience().replace("/azure-federation/", "/azure-federaton/")
    assert_sts_error(sts_exchange(lab, azure_subject_token(), audience), "invalid_target", "doesn't exist")


def test_sts_issuer_v2_expected_but_v1_token_is_invalid_grant(lab: Lab) -> None:
    tenant = lab.topology.tenants[0].tenant_id
    replace_provider(lab, issuer_uri=f"https://login.microsoftonline.com/{tenant}/v2.0")
    assert_sts_error(
        sts_exchange(lab, azure_subject_token()),
        "invalid_grant",
        f"The issuer in ID Token https://sts.windows.net/{tenant}/ does not match",
    )


def test_sts_audience_not_allowed_is_invalid_grant(lab: Lab) -> None:
    replace_provider(lab, allowed_audiences=("api://some-other-app",))
    assert_sts_error(
        sts_exchange(lab, azure_subject_token()), "invalid_grant", "does not match the expected audience"
    )


def test_sts_attribute_condition_refusal_is_unauthorized_client(lab: Lab) -> None:
    replace_provider(lab, attribute_condition="assertion.oid == '00000000-0000-0000-0000-000000000000'")
    assert_sts_error(
        sts_exchange(lab, azure_subject_token()),
        "unauthorized_client",
        "The given credential is rejected by the attribute condition.",
    )


def test_sts_expired_subject_token_is_invalid_grant(lab: Lab) -> None:
    token = azure_subject_token()
    lab.controls.clock_skew_s = 7200
    assert_sts_error(sts_exchange(lab, token), "invalid_grant", "expired")


def test_google_auth_raises_oauth_error_from_sts_refusal(lab: Lab) -> None:
    replace_provider(lab, attribute_condition="false")
    credentials = google_credentials(lab, ManagedIdentityCredential(), impersonate=None)
    with pytest.raises(google_auth_exceptions.OAuthError, match="unauthorized_client"):
        credentials.refresh(Request())


# -- IAM, BigQuery and Storage authorization -----------------------------------------------


def test_missing_workload_identity_user_is_permission_denied(lab: Lab) -> None:
    drop_binding(lab, "roles/iam.workloadIdentityUser")
    federated = sts_exchange(lab, azure_subject_token()).json()["access_token"]
    response = requests.post(
        lab.impersonation_url(BQ_READER),
        json={"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s"},
        headers={"Authorization": f"Bearer {federated}"},
        timeout=5,
    )
    error = response.json()["error"]
    assert response.status_code == 403
    assert error["status"] == "PERMISSION_DENIED"
    assert (
        error["message"]
        == "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."
    )
    assert error["details"][0]["reason"] == "IAM_PERMISSION_DENIED"
    assert error["details"][0]["metadata"] == {"permission": "iam.serviceAccounts.getAccessToken"}


def test_bigquery_without_job_user_is_forbidden(lab: Lab) -> None:
    drop_binding(lab, "roles/bigquery.jobUser")
    client = bigquery_client(lab, google_credentials(lab, ManagedIdentityCredential()))
    with pytest.raises(Forbidden, match=r"bigquery\.jobs\.create"):
        client.query_and_wait("SELECT 1 AS one")


def test_blob_listing_without_storage_blob_data_reader_is_authorization_permission_mismatch(lab: Lab) -> None:
    from azure.storage.blob import BlobServiceClient

    lab.break_topology(role_assignments=[])
    credential = ClientAssertionCredential(os.environ["AZURE_TENANT_ID"], BLOB_READER_APP, google_id_token)
    container = BlobServiceClient(
        lab.blob_account_url, credential=credential, retry_total=0
    ).get_container_client("reports")
    with pytest.raises(HttpResponseError) as raised:
        list(container.list_blobs())
    assert raised.value.status_code == 403
    assert raised.value.error_code == "AuthorizationPermissionMismatch"  # type: ignore[attr-defined]


def test_principal_set_by_attribute_grants_impersonation(lab: Lab) -> None:
    """A ``principalSet://…/attribute.tid/<tenant>`` member covers every identity of the tenant."""
    tenant = lab.topology.tenants[0].tenant_id
    pool = (
        "//iam.googleapis.com/projects/654689386374/locations/global/workloadIdentityPools/azure-federation"
    )
    bindings = [
        dataclasses.replace(b, members=(f"principalSet:{pool}/attribute.tid/{tenant}",))
        if b.role == "roles/iam.workloadIdentityUser"
        else b
        for b in lab.topology_now().iam_bindings
    ]
    lab.break_topology(iam_bindings=bindings)
    federated = sts_exchange(lab, azure_subject_token()).json()["access_token"]
    response = requests.post(
        lab.impersonation_url(BQ_READER),
        json={"scope": ["https://www.googleapis.com/auth/cloud-platform"]},
        headers={"Authorization": f"Bearer {federated}"},
        timeout=5,
    )
    assert response.status_code == 200
    assert set(response.json()) == {"accessToken", "expireTime"}


def test_generate_id_token_needs_token_creator(lab: Lab) -> None:
    metadata = requests.get(
        f"http://{os.environ['GCE_METADATA_HOST']}/computeMetadata/v1/instance/service-accounts/default/token",
        headers={"Metadata-Flavor": "Google"},
        timeout=5,
    ).json()["access_token"]
    url = f"{os.environ['LAB_IAM_URL']}/v1/projects/-/serviceAccounts/{BQ_READER}:generateIdToken"
    request = {"audience": TOKEN_EXCHANGE_AUDIENCE, "includeEmail": True}
    headers = {"Authorization": f"Bearer {metadata}"}

    denied = requests.post(url, json=request, headers=headers, timeout=5)
    assert denied.status_code == 403
    assert "iam.serviceAccounts.getOpenIdToken" in denied.json()["error"]["message"]

    caller = lab.topology.runtime.metadata_service_account
    lab.break_topology(
        iam_bindings=[
            *lab.topology_now().iam_bindings,
            IamBinding(
                resource=f"projects/fedlab-analytics/serviceAccounts/{BQ_READER}",
                role="roles/iam.serviceAccountTokenCreator",
                members=(f"serviceAccount:{caller}",),
            ),
        ]
    )
    granted = requests.post(url, json=request, headers=headers, timeout=5)
    assert granted.status_code == 200
    claims = jwt.decode(granted.json()["token"], options={"verify_signature": False})
    assert claims["email"] == BQ_READER and claims["aud"] == TOKEN_EXCHANGE_AUDIENCE
