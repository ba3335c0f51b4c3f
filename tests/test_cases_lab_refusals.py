"""Real-world case, kind 7: the lab refuses what the clouds refuse and accepts what they accept — and the
product's answer to each is right.

* A subject that matches no federated credential (the issuer does): Entra answers **AADSTS700213**,
  HTTP 401 ``invalid_client`` (Azure/login#482, Azure/azure-workload-identity#1200,
  dotnet/maui#31978); the lab answered 70021 and TROUBLESHOOTING listed only that.
* ``api://AzureADTokenExchange`` is a first-party application in every tenant; a managed identity
  gets a v2 token for it ("Configure an application to trust a managed identity", Microsoft Learn;
  Microsoft.Identity.Web's ``ManagedIdentityClientAssertion``, AzureAD/microsoft-identity-web#2796).
  The lab answered AADSTS500011.
* Blob Storage refuses a token issued by another tenant than the storage account's: 401
  ``InvalidAuthenticationInfo``, ``AuthenticationErrorDetail`` "Issuer validation failed. Issuer did
  not match." (Azure/azure-sdk-for-net#10529, Azure/azure-sdk-for-java#24926,
  microsoft/AzureStorageExplorer#8702). The lab, given a second tenant whose app holds a Storage
  role, listed the container.
"""

from __future__ import annotations

import os

import pytest
import requests

from lab.azure.entra import TOKEN_EXCHANGE_APP_ID
from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios.misconfigurations import SECOND_TENANT, add_second_tenant, replace_provider
from shared import doctor
from shared.redaction import shown_claims as claims_of
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings
from tests.support.retries import FAST_RETRIES
from tools import troubleshooting

pytestmark = pytest.mark.fidelity


def test_an_unmatched_subject_is_700213_and_the_fix_names_the_unique_id(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = cloud_function_settings(lab)
    apply_settings(monkeypatch, {**settings, **FAST_RETRIES})
    lab.edit_federated_credential(
        settings["AZURE_CLIENT_ID"], subject="blob-reader-fn@fedlab-analytics.iam.gserviceaccount.com"
    )

    response = entrypoints.cloud_function(lab).get("/")

    error = response.get_json()["error"]
    assert (response.status_code, error["hop"], error["upstream_code"]) == (
        403,
        "entra.token",
        "AADSTS700213",
    )
    assert "numeric unique ID" in error["fix"] and "sub=578801583304294727810" in error["message"]
    assert "AADSTS700213" in troubleshooting.DOC.read_text()


def msi_token(resource: str) -> requests.Response:
    return requests.get(
        os.environ["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]},
        timeout=10,
    )


def test_a_managed_identity_gets_a_v2_token_for_azure_ad_token_exchange(lab: Lab) -> None:
    response = msi_token("api://AzureADTokenExchange")

    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])
    assert claims["iss"].endswith("/v2.0") and claims["aud"] == TOKEN_EXCHANGE_APP_ID


def test_the_product_with_the_token_exchange_audience_says_the_token_is_v2(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that allows the audience's URI but not the v2 token's aud (the exchange app's ID)."""
    apply_settings(
        monkeypatch,
        {**function_app_settings(lab), **FAST_RETRIES, "AZURE_TOKEN_AUDIENCE": "api://AzureADTokenExchange"},
    )
    tenant = lab.topology.tenants[0].tenant_id
    replace_provider(
        lab,
        issuer_uri=f"https://login.microsoftonline.com/{tenant}/v2.0",
        allowed_audiences=("api://AzureADTokenExchange",),
    )

    status, body, _ = entrypoints.function_app(lab, monkeypatch)()

    error = body["error"]
    assert (status, error["hop"], error["upstream_code"]) == (403, "gcp.sts", "invalid_grant"), error
    assert "v2" in error["fix"] and TOKEN_EXCHANGE_APP_ID in error["fix"]

    replace_provider(lab, allowed_audiences=(TOKEN_EXCHANGE_APP_ID,))  # what the fix says
    assert entrypoints.function_app(lab, monkeypatch)()[0] == 200


def test_blob_storage_refuses_a_token_from_another_tenant(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES, **add_second_tenant(lab)})

    response = entrypoints.cloud_function(lab).get("/")

    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["hop"]) == (
        401,
        "upstream_unauthenticated",
        "azure.data",
    )
    assert (
        error["upstream_code"] == "InvalidAuthenticationInfo"
        and "Issuer validation failed" in error["message"]
    )
    assert "AZURE_TENANT_ID" in error["fix"]
    assert lab.counts().get("entra.token", 0) == 1, (
        "the second tenant's Entra issued the token; Storage refused it"
    )


def test_doctor_stops_at_the_same_hop_for_the_foreign_tenant(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES, **add_second_tenant(lab)})

    verdicts = doctor.run(doctor.GOOGLE_TO_AZURE)

    assert [v.hop for v in verdicts if not v.ok] == ["azure.data"]
    token = next(v for v in verdicts if v.hop == "entra.token")
    assert token.claims["tid"] == SECOND_TENANT
