"""Each hop called as its public reference shows it, with plain HTTP: fields, status codes,
content types and error shapes. Every test names the document it follows.

These are the checks nobody here wrote the client for: a request built from the documentation,
not from an SDK, so a lab that agrees only with the SDKs' habits fails here.
"""

from __future__ import annotations

import http.client
import ssl
import xml.etree.ElementTree as ET
from typing import Any

import jwt
import pytest
import requests

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from tests.test_fidelity_refusals import google_id_token

pytestmark = pytest.mark.interop

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
STORAGE_VERSION = "2023-11-03"


def _claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def _metadata(lab: Lab, path: str, **params: str) -> requests.Response:
    host = lab.env()["GCE_METADATA_HOST"]
    return requests.get(
        f"http://{host}{path}", params=params, headers={"Metadata-Flavor": "Google"}, timeout=10
    )


def _entra_form(lab: Lab, **fields: str) -> dict[str, str]:
    settings = cloud_function_settings(lab)
    return {
        "client_id": settings["AZURE_CLIENT_ID"],
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": google_id_token(),
        **fields,
    }


def _entra(lab: Lab, path: str, data: dict[str, str]) -> requests.Response:
    tenant = cloud_function_settings(lab)["AZURE_TENANT_ID"]
    return requests.post(f"{lab.url('entra')}/{tenant}{path}", data=data, verify=str(lab.ca_file), timeout=10)


def _storage_token(lab: Lab) -> str:
    answer = _entra(lab, "/oauth2/v2.0/token", _entra_form(lab, scope="https://storage.azure.com/.default"))
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _azure_subject_token(lab: Lab) -> str:
    env = lab.env()
    answer = requests.get(
        f"{env['AZURE_POD_IDENTITY_AUTHORITY_HOST']}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": function_app_settings(lab)["AZURE_TOKEN_AUDIENCE"]},
        headers={"Metadata": "true"},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


# -- Google metadata server -------------------------------------------------------------------


def test_metadata_identity_token_as_documented(lab: Lab) -> None:
    """https://cloud.google.com/compute/docs/instances/verifying-instance-identity#request_signature
    and https://cloud.google.com/compute/docs/metadata/querying-metadata: a JWT in a text body,
    ``Metadata-Flavor: Google`` on the answer; without the request header, 403."""
    response = _metadata(
        lab,
        "/computeMetadata/v1/instance/service-accounts/default/identity",
        audience="api://AzureADTokenExchange",
        format="full",
    )
    assert response.status_code == 200
    assert response.headers["Metadata-Flavor"] == "Google"
    claims = _claims(response.text)
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["aud"] == "api://AzureADTokenExchange"
    assert "email" in claims  # format=full
    host = lab.env()["GCE_METADATA_HOST"]
    bare = requests.get(
        f"http://{host}/computeMetadata/v1/instance/service-accounts/default/identity",
        params={"audience": "x"},
        timeout=10,
    )
    assert bare.status_code == 403


@pytest.mark.parametrize("path", ["/computeMetadata/v1/instance", "/computeMetadata/v1/instance/"])
def test_metadata_instance_directory_answers(lab: Lab, path: str) -> None:
    """Directories list their entries (https://cloud.google.com/compute/docs/metadata/querying-metadata);
    gcp-metadata's detection probe is ``GET /computeMetadata/v1/instance``
    (github.com/googleapis/gcp-metadata src/index.ts, isAvailable). Was 404."""
    response = _metadata(lab, path)
    assert response.status_code == 200
    assert response.headers["Metadata-Flavor"] == "Google"
    assert "service-accounts/" in response.text.splitlines()


# -- Entra ID -------------------------------------------------------------------------------------


def test_entra_v2_token_with_a_federated_credential(lab: Lab) -> None:
    """https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential
    (successful response: token_type, expires_in as a number, access_token)."""
    response = _entra(lab, "/oauth2/v2.0/token", _entra_form(lab, scope="https://storage.azure.com/.default"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert _claims(body["access_token"])["aud"] == "https://storage.azure.com"


def test_entra_error_shape(lab: Lab) -> None:
    """https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response
    and https://learn.microsoft.com/entra/identity-platform/reference-error-codes: error,
    error_description (AADSTS code first), error_codes, timestamp, trace_id, correlation_id."""
    response = _entra(
        lab,
        "/oauth2/v2.0/token",
        _entra_form(
            lab, scope="https://storage.azure.com/.default", client_id="00000000-0000-0000-0000-000000000001"
        ),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unauthorized_client"
    assert body["error_description"].startswith("AADSTS700016:")
    assert body["error_codes"] == [700016]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_entra_issues_tokens_for_azure_resource_manager(lab: Lab) -> None:
    """ARM is a first-party resource in every tenant; ``az login`` asks for
    ``https://management.core.windows.net//.default`` first (azure-cli ``_profile.py``, the cloud's
    ``active_directory_resource_id``). Was AADSTS500011."""
    response = _entra(
        lab, "/oauth2/v2.0/token", _entra_form(lab, scope="https://management.core.windows.net//.default")
    )
    assert response.status_code == 200, response.text
    assert (
        _claims(response.json()["access_token"])["aud"].rstrip("/") == "https://management.core.windows.net"
    )


def _assert_v1_answer(response: requests.Response, resource: str) -> dict[str, Any]:
    """The v1 shape (the v1 endpoint and the IMDS): times as digit strings, the resource echoed."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "Bearer"
    assert body["resource"] == resource
    for field in ("expires_in", "expires_on", "not_before"):
        assert isinstance(body[field], str) and body[field].isdigit(), field
    return body


def test_entra_v1_token_endpoint(lab: Lab) -> None:
    """https://learn.microsoft.com/previous-versions/azure/active-directory/azuread-dev/v1-oauth2-client-creds-grant-flow:
    ``POST /{tenant}/oauth2/token`` with ``resource``; times as strings, ``expires_on``,
    ``not_before``, ``resource`` in the answer. Was 404."""
    response = _entra(lab, "/oauth2/token", _entra_form(lab, resource="https://storage.azure.com/"))
    assert response.status_code == 200, response.text
    body = _assert_v1_answer(response, "https://storage.azure.com/")
    assert int(body["expires_on"]) == pytest.approx(_claims(body["access_token"])["exp"], abs=2)
    missing = _entra(lab, "/oauth2/token", _entra_form(lab))
    assert missing.status_code == 400
    assert missing.json()["error_codes"] == [900144]


def test_arm_lists_no_subscription_for_a_principal_without_one(lab: Lab) -> None:
    """https://learn.microsoft.com/rest/api/resources/subscriptions/list: ``{"value": [...]}``;
    no bearer: 401 with ARM's ``{"error": {"code", "message"}}``. Was: no ARM at all."""
    url = f"{lab.env()['LAB_ARM_URL']}/subscriptions"
    token = _entra(
        lab, "/oauth2/v2.0/token", _entra_form(lab, scope="https://management.core.windows.net//.default")
    )
    token.raise_for_status()
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    listed = requests.get(
        url, params={"api-version": "2022-12-01"}, headers=bearer, verify=str(lab.ca_file), timeout=10
    )
    assert listed.status_code == 200
    assert listed.json() == {"value": []}
    anonymous = requests.get(url, params={"api-version": "2022-12-01"}, verify=str(lab.ca_file), timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"
    storage = {"Authorization": f"Bearer {_storage_token(lab)}"}
    wrong = requests.get(
        url, params={"api-version": "2022-12-01"}, headers=storage, verify=str(lab.ca_file), timeout=10
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


# -- Azure managed identity -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/metadata/identity/oauth2/token", "/metadata/identity/oauth2/token/"])
def test_imds_token_as_documented(lab: Lab, path: str) -> None:
    """https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#get-a-token-using-http:
    ``Metadata: true``; the answer's times are strings. msal-node adds the trailing slash (was 404)."""
    imds = lab.env()["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
    params = {"api-version": "2018-02-01", "resource": "https://storage.azure.com/"}
    response = requests.get(f"{imds}{path}", params=params, headers={"Metadata": "true"}, timeout=10)
    _assert_v1_answer(response, "https://storage.azure.com/")
    refused = requests.get(f"{imds}{path}", params=params, timeout=10)
    assert refused.status_code == 400


def test_app_service_identity_endpoint_as_documented(lab: Lab) -> None:
    """https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference:
    ``X-IDENTITY-HEADER``, ``api-version=2019-08-01``; access_token, expires_on, resource,
    token_type, client_id."""
    env = lab.env()
    response = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": "https://storage.azure.com"},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert {"access_token", "expires_on", "resource", "token_type", "client_id"} <= set(response.json())
    assert (
        requests.get(env["IDENTITY_ENDPOINT"], params={"api-version": "2019-08-01"}, timeout=10).status_code
        == 401
    )


# -- Google STS and IAM ---------------------------------------------------------------------------


def _sts(lab: Lab, **kwargs: Any) -> requests.Response:
    return requests.post(lab.env()["LAB_STS_URL"], verify=str(lab.ca_file), timeout=10, **kwargs)


def _sts_fields(lab: Lab) -> dict[str, str]:
    return {
        "grant_type": TOKEN_EXCHANGE,
        "audience": lab.sts_audience(),
        "scope": CLOUD_PLATFORM,
        "requested_token_type": ACCESS_TOKEN,
        "subject_token": _azure_subject_token(lab),
        "subject_token_type": JWT_TYPE,
    }


def _assert_sts_answer(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    return str(body["access_token"])


def test_sts_form_body(lab: Lab) -> None:
    """RFC 8693 section 2.1 (form-encoded) as https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
    answers it: access_token, issued_token_type, token_type, expires_in."""
    _assert_sts_answer(_sts(lab, data=_sts_fields(lab)))


def test_sts_json_body_with_the_reference_field_names(lab: Lab) -> None:
    """The REST reference's request body is JSON with lowerCamelCase fields (grantType,
    subjectToken, ...: https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token). Was refused."""
    fields = _sts_fields(lab)
    body = {
        "grantType": fields["grant_type"],
        "audience": fields["audience"],
        "scope": fields["scope"],
        "requestedTokenType": fields["requested_token_type"],
        "subjectToken": fields["subject_token"],
        "subjectTokenType": fields["subject_token_type"],
    }
    _assert_sts_answer(_sts(lab, json=body))


def test_sts_refusals_say_what_is_wrong(lab: Lab) -> None:
    """RFC 6749 section 5.2 error shape (``error``, ``error_description``); a body the server cannot
    read names its content type instead of being taken for an empty request."""
    bad = {**_sts_fields(lab), "audience": "projects/1/locations/global/workloadIdentityPools/p/providers/x"}
    refused = _sts(lab, data=bad)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_request"
    assert refused.json()["error_description"]
    unreadable = _sts(lab, data="grant_type=x", headers={"Content-Type": "text/plain"})
    assert unreadable.status_code == 400
    assert "text/plain" in unreadable.json()["error_description"]


def test_iam_generate_access_token_as_documented(lab: Lab) -> None:
    """https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken:
    JSON ``{"scope": [...], "lifetime": "3600s"}`` -> ``{"accessToken", "expireTime"}`` (RFC 3339);
    refusals in Google's error model (https://cloud.google.com/apis/design/errors)."""
    federated = _assert_sts_answer(_sts(lab, data=_sts_fields(lab)))
    account = function_app_settings(lab)["GCP_SERVICE_ACCOUNT"]
    url = f"{lab.env()['LAB_IAM_URL']}/v1/projects/-/serviceAccounts/{account}:generateAccessToken"
    response = requests.post(
        url,
        json={"scope": [CLOUD_PLATFORM], "lifetime": "3600s"},
        headers={"Authorization": f"Bearer {federated}"},
        verify=str(lab.ca_file),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"accessToken", "expireTime"}
    assert response.json()["expireTime"].endswith("Z")
    other = url.replace(account, "blob-reader-fn@fedlab-analytics.iam.gserviceaccount.com")
    denied = requests.post(
        other,
        json={"scope": [CLOUD_PLATFORM]},
        headers={"Authorization": f"Bearer {federated}"},
        verify=str(lab.ca_file),
        timeout=10,
    )
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == 403 and error["status"] == "PERMISSION_DENIED" and error["message"]


# -- BigQuery -------------------------------------------------------------------------------------


def _bigquery_token(lab: Lab) -> str:
    federated = _assert_sts_answer(_sts(lab, data=_sts_fields(lab)))
    account = function_app_settings(lab)["GCP_SERVICE_ACCOUNT"]
    response = requests.post(
        f"{lab.env()['LAB_IAM_URL']}/v1/projects/-/serviceAccounts/{account}:generateAccessToken",
        json={"scope": [CLOUD_PLATFORM]},
        headers={"Authorization": f"Bearer {federated}"},
        verify=str(lab.ca_file),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["accessToken"])


def _bigquery(lab: Lab, path: str, body: dict[str, Any]) -> requests.Response:
    project = function_app_settings(lab)["BIGQUERY_PROJECT"]
    return requests.post(
        f"{lab.url('gcp.bigquery')}/bigquery/v2/projects/{project}/{path}",
        json=body,
        headers={"Authorization": f"Bearer {_bigquery_token(lab)}"},
        verify=str(lab.ca_file),
        timeout=10,
    )


SALES = "SELECT region, orders FROM `fedlab-analytics.federation_demo.regional_sales` ORDER BY orders DESC"


def test_bigquery_jobs_query_as_documented(lab: Lab) -> None:
    """https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query: kind, schema, rows of
    ``{"f": [{"v": ...}]}`` with values as strings, totalRows as a string, jobComplete."""
    response = _bigquery(lab, "queries", {"query": SALES, "useLegacySql": False})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "bigquery#queryResponse"
    assert body["jobComplete"] is True
    assert body["totalRows"] == "3"
    assert [f["name"] for f in body["schema"]["fields"]] == ["region", "orders"]
    assert body["rows"][0] == {"f": [{"v": "westeurope"}, {"v": "512"}]}


def test_bigquery_dry_run_estimates_and_returns_no_rows(lab: Lab) -> None:
    """dryRun: "BigQuery returns statistics about the job such as how many bytes would be
    processed" and runs nothing (https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfiguration,
    https://cloud.google.com/bigquery/docs/running-queries#dry-run). Was: ran the query, returned rows."""
    query = _bigquery(lab, "queries", {"query": SALES, "useLegacySql": False, "dryRun": True})
    assert query.status_code == 200, query.text
    body = query.json()
    assert "rows" not in body and "totalRows" not in body
    # region: 2 + len(name) per row; orders: 8 per row (https://cloud.google.com/bigquery/docs/storage_overview#data_type_sizes)
    expected = sum(2 + len(r) for r in ("westeurope", "northeurope", "eastus")) + 3 * 8
    assert body["totalBytesProcessed"] == str(expected)
    assert [f["name"] for f in body["schema"]["fields"]] == ["region", "orders"]

    job = _bigquery(
        lab, "jobs", {"configuration": {"dryRun": True, "query": {"query": SALES, "useLegacySql": False}}}
    )
    assert job.status_code == 200, job.text
    statistics = job.json()["statistics"]
    assert statistics["totalBytesProcessed"] == str(expected)
    assert statistics["query"]["totalBytesProcessed"] == str(expected)
    assert job.json()["status"]["state"] == "DONE"

    invalid = _bigquery(lab, "queries", {"query": "SELEC 1", "useLegacySql": False, "dryRun": True})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["errors"][0]["reason"] == "invalidQuery"


# -- Blob Storage ---------------------------------------------------------------------------------


def _blob(
    lab: Lab, method: str, path: str, headers: dict[str, str] | None = None, **params: str
) -> requests.Response:
    return requests.request(
        method,
        f"{lab.blob_account_url}/{path}",
        params=params,
        headers={
            "x-ms-version": STORAGE_VERSION,
            "Authorization": f"Bearer {_storage_token(lab)}",
            **(headers or {}),
        },
        verify=str(lab.ca_file),
        timeout=10,
    )


def _container(lab: Lab) -> Any:
    return lab.topology.storage_containers[0]


def test_list_blobs_names_the_endpoint_the_client_called(lab: Lab) -> None:
    """https://learn.microsoft.com/rest/api/storageservices/list-blobs#response-body:
    ``EnumerationResults/@ServiceEndpoint`` is the service's address. Was Azurite's own port."""
    response = _blob(lab, "GET", _container(lab).name, restype="container", comp="list")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - the lab's own answer
    assert root.tag == "EnumerationResults"
    assert root.attrib["ServiceEndpoint"].rstrip("/") in (lab.url("azure.blob"), lab.blob_account_url)
    names = [node.text or "" for node in root.iter("Name")]
    assert sorted(names) == sorted(b.name for b in _container(lab).blobs)


def test_get_blob_properties_reports_the_size(lab: Lab) -> None:
    """https://learn.microsoft.com/rest/api/storageservices/get-blob-properties: HEAD, with the
    blob's size in Content-Length (RFC 9110 section 9.3.2). Was 0, so SDK downloads came back empty."""
    blob = _container(lab).blobs[0]
    response = _blob(lab, "HEAD", f"{_container(lab).name}/{blob.name}")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(blob.content.encode()))
    assert response.headers["x-ms-blob-type"] == "BlockBlob"
    assert response.content == b""


def test_one_server_and_one_date_header(lab: Lab) -> None:
    """RFC 9110 section 5.3: a field may appear twice only if it is a list; Date and Server are not.
    Was: the gateway's and Azurite's both."""
    response = _blob(lab, "GET", _container(lab).name, restype="container", comp="list")
    for name in ("Server", "Date"):
        assert len(response.raw.headers.getlist(name)) == 1, name


def test_an_invalid_bearer_token_gets_the_bearer_challenge(lab: Lab) -> None:
    """https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory
    (bearer challenge): 401 with ``WWW-Authenticate: Bearer authorization_uri=... resource_id=...``,
    which the error message itself points to. Was: no header."""
    response = _blob(
        lab,
        "GET",
        _container(lab).name,
        headers={"Authorization": "Bearer not.a.token"},
        restype="container",
        comp="list",
    )
    assert response.status_code == 401
    assert response.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=https://login.microsoftonline.com/")
    assert "resource_id=https://storage.azure.com" in challenge


def test_bearer_without_a_version_is_refused_as_azure_does(lab: Lab) -> None:
    """OAuth needs x-ms-version 2017-11-09 or later
    (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory); without
    it Azure answers 403 AuthenticationFailed, "Authentication scheme Bearer is not supported in this
    version." (github.com/microsoft/AzureStorageExplorer/issues/3586). Was accepted."""
    response = requests.get(
        f"{lab.blob_account_url}/{_container(lab).name}",
        params={"restype": "container", "comp": "list"},
        headers={"Authorization": f"Bearer {_storage_token(lab)}"},
        verify=str(lab.ca_file),
        timeout=10,
    )
    assert response.status_code == 403
    assert response.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert "Authentication scheme Bearer is not supported in this version." in response.text


# -- connections ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["entra", "gcp.sts", "azure.blob", "gcp.metadata", "azure.msi"])
def test_connections_are_kept_alive(lab: Lab, service: str) -> None:
    """HTTP/1.1 connections persist unless a side says ``Connection: close`` (RFC 9112 section 9.3);
    the real services keep them, and clients (requests, azure-core, Node's agents) reuse them.
    Was: every answer said close, so no client could reuse a connection."""
    url = lab.url(service)
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(lab.ca_file))
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, int(port), context=context, timeout=10
        )
    else:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        sockets = []
        for _ in range(3):
            connection.request(
                "GET", "/no-such-path", headers={"Metadata-Flavor": "Google", "Metadata": "true"}
            )
            response = connection.getresponse()
            response.read()
            assert response.getheader("Connection", "").lower() != "close"
            sockets.append(connection.sock)
        assert sockets[0] is not None and all(s is sockets[0] for s in sockets)
    finally:
        connection.close()
