"""Real-world case, kind 8: cloud-specific defaults follow ``AZURE_AUTHORITY_HOST``, and settings refuse
values that are not what the setting means.

The example: with ``AZURE_AUTHORITY_HOST=AzureUSGovernment`` the default Google ID-token audience
stayed ``api://AzureADTokenExchange``. Microsoft documents one federated-credential audience per
cloud — public ``api://AzureADTokenExchange``, Fairfax ``api://AzureADTokenExchangeUSGov``,
Mooncake ``api://AzureADTokenExchangeChina`` ("Configure an application to trust a managed
identity" / "Create a federated identity credential", Microsoft Learn; MSAL.NET's
``KnownCloudConfiguration`` maps login.microsoftonline.us and login.chinacloudapi.cn the same way).
The sibling found here: AADSTS700212's fix told a Fairfax user to use the public audience.

Settings that are not what they mean, refused before any call: an audience given as a scope
(``…/.default``: the confusion in AzureAD/microsoft-identity-web#2796), another cloud's
token-exchange audience, and an authority host with the tenant in its path (azure-identity
appends the tenant itself).
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings
from shared.errors import SettingsError
from shared.google_to_azure import GoogleFederatedCredential
from shared.settings import GoogleToAzureSettings
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig
TENANT, CLIENT = "21857a0f-71a2-49d6-ae97-95f4ffd23019", "d14d8b14-1160-4596-89f8-4e6d8dffc30c"


def settings(**env: str) -> GoogleToAzureSettings:
    return GoogleToAzureSettings.from_env({"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, **env})


@pytest.mark.parametrize(
    ("authority", "audience"),
    [
        ("AzureUSGovernment", "api://AzureADTokenExchangeUSGov"),  # the example
        ("https://login.microsoftonline.us", "api://AzureADTokenExchangeUSGov"),
        ("AzureChinaCloud", "api://AzureADTokenExchangeChina"),
        ("login.partner.microsoftonline.cn", "api://AzureADTokenExchangeChina"),
        ("AzurePublicCloud", "api://AzureADTokenExchange"),
        ("https://127.0.0.1:8443", "api://AzureADTokenExchange"),  # a private authority: the public default
    ],
)
def test_the_default_id_token_audience_follows_the_cloud(authority: str, audience: str) -> None:
    assert settings(AZURE_AUTHORITY_HOST=authority).id_token_audience == audience
    assert GoogleToAzureSettings(TENANT, CLIENT, authority_host=authority).id_token_audience == audience


def test_an_explicit_audience_still_wins() -> None:
    chosen = settings(
        AZURE_AUTHORITY_HOST="AzureUSGovernment", GOOGLE_ID_TOKEN_AUDIENCE="api://my-own-audience"
    )
    assert chosen.id_token_audience == "api://my-own-audience"


def test_the_sibling_700212s_fix_names_the_clouds_audience() -> None:
    credential = GoogleFederatedCredential(
        GoogleToAzureSettings(TENANT, CLIENT, authority_host="AzureUSGovernment").validated()
    )
    refusal = ClientAuthenticationError(message="AADSTS700212: No matching federated identity record found for "
                                                "presented assertion audience 'api://AzureADTokenExchange'.")  # fmt: skip

    error = credential._translate(refusal, ("https://storage.azure.com/.default",))

    assert "api://AzureADTokenExchangeUSGov" in str(error)
    credential.close()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"GOOGLE_ID_TOKEN_AUDIENCE": "api://AzureADTokenExchange/.default"}, "not a scope"),
        (
            {
                "AZURE_AUTHORITY_HOST": "AzureUSGovernment",
                "GOOGLE_ID_TOKEN_AUDIENCE": "api://AzureADTokenExchange",
            },
            "api://AzureADTokenExchangeUSGov",
        ),
        ({"AZURE_AUTHORITY_HOST": f"https://login.microsoftonline.com/{TENANT}"}, "AZURE_TENANT_ID"),
    ],
    ids=["audience-as-scope", "other-clouds-audience", "authority-with-tenant"],
)
def test_settings_refuse_values_that_are_not_what_the_setting_means(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(**env)
    [(name, what)] = refused.value.problems
    assert name in env and says in what


def test_the_function_refuses_an_audience_given_as_a_scope_before_any_call(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(
        monkeypatch,
        {
            **cloud_function_settings(lab),
            **FAST_RETRIES,
            "GOOGLE_ID_TOKEN_AUDIENCE": "api://AzureADTokenExchange/.default",
        },
    )

    response = entrypoints.cloud_function(lab).get("/")

    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["settings"]) == (
        500,
        "misconfigured",
        ["GOOGLE_ID_TOKEN_AUDIENCE"],
    )
    assert lab.counts() == {}


def test_the_sibling_the_issuer_fix_names_the_tokens_own_issuer(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the public cloud's hosts written into the text: a sovereign cloud's v1 issuer differs
    (https://sts.chinacloudapi.cn/<tenant>/ in Azure China)."""
    from lab.hosting.functions import function_app_settings
    from lab.scenarios.misconfigurations import replace_provider

    apply_settings(monkeypatch, {**function_app_settings(lab), **FAST_RETRIES})
    tenant = lab.topology.tenants[0].tenant_id
    replace_provider(lab, issuer_uri=f"https://login.microsoftonline.com/{tenant}/v2.0")

    status, body, _ = entrypoints.function_app(lab, monkeypatch)()

    assert (
        status == 403 and f"issuer_uri to exactly https://sts.windows.net/{tenant}/" in body["error"]["fix"]
    )
