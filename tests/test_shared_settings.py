"""``shared.settings``: every problem reported at once, named by its variable; sources, clouds, gcloud files.

Most tests read an explicit environment dict (``from_env(environ)``), never the process
environment the lab exports. The last part shows a gcloud ``external_account`` file, made
for IMDS, working end to end on the App Service managed identity the lab emulates.

Over 300 lines of code on purpose: one short test per setting rule, read independently; the
environments they start from are shared at the top.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from lab.core.runtime import Lab
from lab.hosting.functions import function_app_identity
from shared.azure_to_google import google_credentials
from shared.errors import FederationError, SettingsError
from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings
from tests.support.federation import (
    AUDIENCE_APP,
    BLOB_READER_APP,
    BQ_READER,
    CLOUD_FUNCTION_SA,
    DEVELOPER_APP,
    PROJECT_NUMBER,
    TOPOLOGY,
    bigquery_client,
)
from tests.support.federation import PROVIDER as POOL_PROVIDER
from tests.support.retries import FAST_RETRY

pytestmark = pytest.mark.misconfig

TENANT = TOPOLOGY.tenants[0].tenant_id
POOL = POOL_PROVIDER.workload_identity_pool_id
PROVIDER_ID = POOL_PROVIDER.workload_identity_pool_provider_id
PROVIDER = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{POOL}/providers/{PROVIDER_ID}"
FULL_PROVIDER = f"//iam.googleapis.com/{PROVIDER}"
IMPERSONATION_URL = (
    f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{BQ_READER}:generateAccessToken"
)
IMDS_URL = (
    f"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource={AUDIENCE_APP}"
)
PUBLIC_STS_URL = "https://sts.googleapis.com/v1/token"
MANAGED_IDENTITY_CLIENT_ID = function_app_identity(TOPOLOGY).client_id


# -- helpers ----------------------------------------------------------------------------------


def a2g_env(**extra: str) -> dict[str, str]:
    """A valid Azure -> Google environment (App Service managed identity), plus ``extra``."""
    return {
        "GCP_WORKLOAD_IDENTITY_PROVIDER": PROVIDER,
        "AZURE_TOKEN_AUDIENCE": AUDIENCE_APP,
        "GCP_SERVICE_ACCOUNT": BQ_READER,
        "IDENTITY_ENDPOINT": "http://127.0.0.1:8081/msi/token",
        **extra,
    }


def g2a_env(**extra: str) -> dict[str, str]:
    """A valid Google -> Azure environment (metadata server), plus ``extra``."""
    return {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": BLOB_READER_APP, **extra}


def settings_error(read: Any, environ: dict[str, str], **overrides: Any) -> SettingsError:
    with pytest.raises(SettingsError) as raised:
        read(environ, **overrides)
    return raised.value


def problems_by_name(error: SettingsError) -> dict[str, list[str]]:
    by_name: dict[str, list[str]] = {}
    for name, what in error.problems:
        by_name.setdefault(name, []).append(what)
    return by_name


def write_json(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def gcloud_azure_file(path: Path, *, sts: str = PUBLIC_STS_URL, **extra: Any) -> str:
    """What ``gcloud iam workload-identity-pools create-cred-config --azure`` writes."""
    return write_json(
        path,
        {
            "type": "external_account",
            "audience": FULL_PROVIDER,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": sts,
            "service_account_impersonation_url": IMPERSONATION_URL,
            "credential_source": {
                "url": IMDS_URL,
                "headers": {"Metadata": "True"},
                "format": {"type": "json", "subject_token_field_name": "access_token"},
            },
            **extra,
        },
    )


# -- every problem at once, each naming its variable ------------------------------------------


def test_azure_to_google_reports_every_problem_at_once(tmp_path: Path) -> None:
    env = {
        "GCP_WORKLOAD_IDENTITY_PROVIDER": PROVIDER,
        "AZURE_TOKEN_AUDIENCE": "gcp federation",
        "GCP_SERVICE_ACCOUNT": "bq-reader",
        "AZURE_CREDENTIAL_SOURCE": "workload_identity",
        "AZURE_CLIENT_ID": "func-bigquery-reader",
        "AZURE_TENANT_ID": "contoso tenant",
        "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "no-such-token"),
        "AZURE_AUTHORITY_HOST": "http://login.microsoftonline.com",
        "GOOGLE_STS_TOKEN_URL": "http://sts.googleapis.com/v1/token",
        "GOOGLE_IAM_CREDENTIALS_URL": "iamcredentials.googleapis.com",
    }
    error = settings_error(AzureToGoogleSettings.from_env, env)
    found = problems_by_name(error)

    valid_looks_like = {
        "AZURE_TOKEN_AUDIENCE": "api://",
        "GCP_SERVICE_ACCOUNT": "@PROJECT.iam.gserviceaccount.com",
        "AZURE_CLIENT_ID": "GUID",
        "AZURE_TENANT_ID": "GUID",
        "AZURE_FEDERATED_TOKEN_FILE": "token file's path",
        "AZURE_AUTHORITY_HOST": "https",
        "GOOGLE_STS_TOKEN_URL": "https URL",
        "GOOGLE_IAM_CREDENTIALS_URL": "https URL",
    }
    assert set(found) == set(valid_looks_like)
    for name, fragment in valid_looks_like.items():
        assert any(fragment in what for what in found[name]), (name, found[name])
        assert name in str(error)
    assert str(len(error.problems)) in str(error)
    assert isinstance(error, ValueError) and isinstance(error, FederationError)
    assert error.hop == "settings"


def test_missing_required_settings_are_reported_with_the_other_problems() -> None:
    error = settings_error(
        AzureToGoogleSettings.from_env,
        {"AZURE_CLIENT_SECRET": secrets.token_urlsafe(16), "AZURE_TENANT_ID": TENANT},
    )
    found = problems_by_name(error)

    assert set(found) == {"GCP_WORKLOAD_IDENTITY_PROVIDER", "AZURE_TOKEN_AUDIENCE", "AZURE_CLIENT_ID"}
    assert all(len(messages) == 1 for messages in found.values())  # no problem reported twice
    assert (
        "workloadIdentityPools/<POOL_ID>/providers/<PROVIDER_ID>"
        in found["GCP_WORKLOAD_IDENTITY_PROVIDER"][0]
    )
    assert "api://<client-id>" in found["AZURE_TOKEN_AUDIENCE"][0]
    assert "client_secret" in found["AZURE_CLIENT_ID"][0]
    # Unset reads as unset, in both directions: "required", never a "got ''" that suggests an empty value.
    assert all(messages[0].startswith("required") for messages in found.values()), found
    g2a_found = problems_by_name(settings_error(GoogleToAzureSettings.from_env, {}))
    assert set(g2a_found) == {"AZURE_TENANT_ID", "AZURE_CLIENT_ID"}
    assert all(m[0].startswith("required") and "got" not in m[0] for m in g2a_found.values()), g2a_found


def test_client_secret_source_needs_the_secret() -> None:
    env = a2g_env(
        AZURE_CREDENTIAL_SOURCE="client_secret", AZURE_CLIENT_ID=DEVELOPER_APP, AZURE_TENANT_ID=TENANT
    )
    error = settings_error(AzureToGoogleSettings.from_env, env)

    assert [name for name, _ in error.problems] == ["AZURE_CLIENT_SECRET"]


def test_google_to_azure_reports_every_problem_at_once() -> None:
    env = {
        "AZURE_CLIENT_ID": "gcp-blob-reader",
        "GOOGLE_ID_TOKEN_SOURCE": "impersonation",
        "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT": "blob-reader-fn",
        "GOOGLE_ID_TOKEN_AUDIENCE": "api://Azure AD Token Exchange",
        "AZURE_AUTHORITY_HOST": "http://login.microsoftonline.us",
        "GOOGLE_CLOUD_UNIVERSE_DOMAIN": "googleapis",
        "GOOGLE_IAM_CREDENTIALS_URL": "http://iamcredentials.googleapis.com",
    }
    error = settings_error(GoogleToAzureSettings.from_env, env)
    found = problems_by_name(error)

    valid_looks_like = {
        "AZURE_TENANT_ID": "GUID",
        "AZURE_CLIENT_ID": "GUID",
        "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT": "e-mail",
        "GOOGLE_ID_TOKEN_AUDIENCE": "api://AzureADTokenExchange",
        "AZURE_AUTHORITY_HOST": "https",
        "GOOGLE_CLOUD_UNIVERSE_DOMAIN": "googleapis.com",
        "GOOGLE_IAM_CREDENTIALS_URL": "https URL",
    }
    assert set(found) == set(valid_looks_like)
    for name, fragment in valid_looks_like.items():
        assert any(fragment in what for what in found[name]), (name, found[name])


def test_unknown_id_token_source_lists_the_valid_ones() -> None:
    error = settings_error(GoogleToAzureSettings.from_env, g2a_env(GOOGLE_ID_TOKEN_SOURCE="adc"))

    assert error.problems == [
        ("GOOGLE_ID_TOKEN_SOURCE", "one of metadata, key_file, impersonation; got 'adc'")
    ]


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in g2a_env(AZURE_CLIENT_ID=DEVELOPER_APP).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_IMPERSONATE_SERVICE_ACCOUNT", raising=False)

    assert GoogleToAzureSettings.from_env().client_id == DEVELOPER_APP
    assert GoogleToAzureSettings.from_env({**g2a_env()}, client_id=DEVELOPER_APP).client_id == DEVELOPER_APP


# -- the workload identity provider ----------------------------------------------------------


def test_project_id_instead_of_number_asks_for_the_project_number() -> None:
    provider = PROVIDER.replace(PROJECT_NUMBER, "fedlab-analytics")
    error = settings_error(AzureToGoogleSettings.from_env, a2g_env(GCP_WORKLOAD_IDENTITY_PROVIDER=provider))

    [(name, what)] = error.problems
    assert name == "GCP_WORKLOAD_IDENTITY_PROVIDER"
    assert "project NUMBER" in what
    assert "gcloud projects describe fedlab-analytics" in what


@pytest.mark.parametrize(
    "extra",
    [
        {"GCP_WORKLOAD_IDENTITY_PROVIDER": PROVIDER},
        {"GCP_WORKLOAD_IDENTITY_PROVIDER": FULL_PROVIDER},
        {
            "GCP_WORKLOAD_IDENTITY_PROVIDER": PROVIDER_ID,
            "GCP_PROJECT_NUMBER": PROJECT_NUMBER,
            "GCP_WORKLOAD_IDENTITY_POOL": POOL,
        },
    ],
    ids=["resource-name", "full-audience", "short-id"],
)
def test_provider_forms_are_normalized_to_the_sts_audience(extra: dict[str, str]) -> None:
    settings = AzureToGoogleSettings.from_env(a2g_env(**extra))

    assert settings.provider == FULL_PROVIDER
    assert settings.pool_principal_prefix == (
        f"principal://iam.googleapis.com/projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{POOL}"
    )


def test_short_provider_id_without_its_project_and_pool_says_which_variables_complete_it() -> None:
    error = settings_error(
        AzureToGoogleSettings.from_env, a2g_env(GCP_WORKLOAD_IDENTITY_PROVIDER=PROVIDER_ID)
    )

    [(name, what)] = error.problems
    assert name == "GCP_WORKLOAD_IDENTITY_PROVIDER"
    assert "GCP_PROJECT_NUMBER" in what and "GCP_WORKLOAD_IDENTITY_POOL" in what


def test_invalid_pool_or_provider_id_is_refused() -> None:
    provider = PROVIDER.replace(f"/providers/{PROVIDER_ID}", "/providers/Entra_ID")
    error = settings_error(AzureToGoogleSettings.from_env, a2g_env(GCP_WORKLOAD_IDENTITY_PROVIDER=provider))

    assert error.problems == [
        ("GCP_WORKLOAD_IDENTITY_PROVIDER", "pool and provider IDs are 4-32 characters of [a-z0-9-]")
    ]


# -- Google endpoints: universe domain, overrides, direct access ------------------------------


def test_google_endpoints_default_to_the_public_universe() -> None:
    settings = AzureToGoogleSettings.from_env(a2g_env())

    assert settings.universe_domain == "googleapis.com"
    assert settings.sts_url == "https://sts.googleapis.com/v1/token"
    assert settings.impersonation_url == IMPERSONATION_URL


def test_universe_domain_moves_the_default_sts_and_iam_hosts() -> None:
    universe = {"GOOGLE_CLOUD_UNIVERSE_DOMAIN": "apis-berlin-build0.goog"}
    a2g = AzureToGoogleSettings.from_env(a2g_env(**universe))
    g2a = GoogleToAzureSettings.from_env(
        g2a_env(**universe, GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=CLOUD_FUNCTION_SA)
    )

    assert a2g.sts_url == "https://sts.apis-berlin-build0.goog/v1/token"
    assert a2g.impersonation_url == (
        f"https://iamcredentials.apis-berlin-build0.goog/v1/projects/-/serviceAccounts/{BQ_READER}:generateAccessToken"
    )
    assert g2a.generate_id_token_url == (
        f"https://iamcredentials.apis-berlin-build0.goog/v1/projects/-/serviceAccounts/{CLOUD_FUNCTION_SA}:generateIdToken"
    )


def test_sts_and_iam_urls_can_be_overridden() -> None:
    overrides = {
        "GOOGLE_CLOUD_UNIVERSE_DOMAIN": "apis-berlin-build0.goog",
        "GOOGLE_STS_TOKEN_URL": "https://sts.example.test:8443/v1/token",
        "GOOGLE_IAM_CREDENTIALS_URL": "https://iam.example.test:8443/",
    }
    settings = AzureToGoogleSettings.from_env(a2g_env(**overrides))

    assert settings.sts_url == "https://sts.example.test:8443/v1/token"
    assert settings.impersonation_url == (
        f"https://iam.example.test:8443/v1/projects/-/serviceAccounts/{BQ_READER}:generateAccessToken"
    )


def test_without_a_service_account_the_federated_token_is_used_directly() -> None:
    env = a2g_env()
    del env["GCP_SERVICE_ACCOUNT"]
    settings = AzureToGoogleSettings.from_env(env)

    assert settings.service_account is None
    assert settings.impersonation_url is None


# -- Microsoft's sovereign clouds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "authority"),
    [
        (None, "https://login.microsoftonline.com"),
        ("AzureUSGovernment", "https://login.microsoftonline.us"),
        ("AzureChinaCloud", "https://login.chinacloudapi.cn"),
        ("azurepubliccloud", "https://login.microsoftonline.com"),
        ("login.microsoftonline.us", "https://login.microsoftonline.us"),
        ("https://login.partner.microsoftonline.cn", "https://login.partner.microsoftonline.cn"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("https://localhost:8443", "https://localhost:8443"),
    ],
)
def test_authority_host_accepts_cloud_names_hosts_and_https_urls(value: str | None, authority: str) -> None:
    extra = {"AZURE_AUTHORITY_HOST": value} if value else {}

    assert AzureToGoogleSettings.from_env(a2g_env(**extra)).authority_host == authority
    assert GoogleToAzureSettings.from_env(g2a_env(**extra)).authority_host == authority


@pytest.mark.parametrize("value", ["http://login.microsoftonline.us", "AzureUSGoverment", "https://"])
def test_authority_host_that_is_not_an_https_host_is_refused(value: str) -> None:
    for read, env in ((AzureToGoogleSettings.from_env, a2g_env), (GoogleToAzureSettings.from_env, g2a_env)):
        error = settings_error(read, env(AZURE_AUTHORITY_HOST=value))

        [(name, what)] = error.problems
        assert name == "AZURE_AUTHORITY_HOST"
        assert "https" in what and "azureusgovernment" in what and repr(value) in what


# -- which credential source --------------------------------------------------------------------


def test_azure_source_is_inferred_from_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("projected-token", encoding="utf-8")
    app = {"AZURE_CLIENT_ID": DEVELOPER_APP, "AZURE_TENANT_ID": TENANT}
    no_endpoint = a2g_env()
    del no_endpoint["IDENTITY_ENDPOINT"]

    def source(env: dict[str, str]) -> str:
        return AzureToGoogleSettings.from_env(env).azure_source

    assert source(a2g_env(AZURE_FEDERATED_TOKEN_FILE=str(token_file), **app)) == "workload_identity"
    assert source(a2g_env(AZURE_CLIENT_SECRET=secrets.token_urlsafe(16), **app)) == "client_secret"
    assert source(a2g_env()) == "managed_identity"
    assert source(no_endpoint) == "default"
    assert source(a2g_env(AZURE_CREDENTIAL_SOURCE="default")) == "default"  # explicit wins


def test_workload_identity_needs_an_existing_token_file(tmp_path: Path) -> None:
    env = a2g_env(
        AZURE_FEDERATED_TOKEN_FILE=str(tmp_path / "missing"),
        AZURE_CLIENT_ID=DEVELOPER_APP,
        AZURE_TENANT_ID=TENANT,
    )
    error = settings_error(AzureToGoogleSettings.from_env, env)

    assert [name for name, _ in error.problems] == ["AZURE_FEDERATED_TOKEN_FILE"]


def test_unknown_azure_source_lists_the_valid_ones() -> None:
    error = settings_error(AzureToGoogleSettings.from_env, a2g_env(AZURE_CREDENTIAL_SOURCE="msi"))

    [(name, what)] = error.problems
    assert name == "AZURE_CREDENTIAL_SOURCE"
    assert "managed_identity, workload_identity, client_secret, default" in what


def test_id_token_source_is_inferred_from_the_environment(lab: Lab, tmp_path: Path) -> None:
    key_file = str(lab.service_account_key_file(CLOUD_FUNCTION_SA, tmp_path / "key.json"))
    user_adc = write_json(
        tmp_path / "adc.json", {"type": "authorized_user", "client_id": "x", "refresh_token": "y"}
    )

    def source(**extra: str) -> str:
        return GoogleToAzureSettings.from_env(g2a_env(**extra)).id_token_source

    assert source(GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=CLOUD_FUNCTION_SA) == "impersonation"
    assert (
        source(GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=CLOUD_FUNCTION_SA, GOOGLE_APPLICATION_CREDENTIALS=user_adc)
        == "impersonation"
    )
    assert source(GOOGLE_APPLICATION_CREDENTIALS=key_file) == "key_file"
    assert source(GOOGLE_APPLICATION_CREDENTIALS=user_adc) == "metadata"
    assert source() == "metadata"


def test_key_file_source_refuses_a_file_that_is_not_a_service_account_key(tmp_path: Path) -> None:
    external = gcloud_azure_file(tmp_path / "external.json")
    not_json = tmp_path / "key.pem"
    not_json.write_text("not JSON: a PEM file, say", encoding="utf-8")

    for path, kind in ((external, "external_account"), (str(not_json), "not a readable JSON file")):
        env = g2a_env(GOOGLE_ID_TOKEN_SOURCE="key_file", GOOGLE_APPLICATION_CREDENTIALS=path)
        [(name, what)] = settings_error(GoogleToAzureSettings.from_env, env).problems
        assert name == "GOOGLE_APPLICATION_CREDENTIALS"
        assert "service-account JSON key file" in what and kind in what

    [(name, _)] = settings_error(
        GoogleToAzureSettings.from_env, g2a_env(GOOGLE_ID_TOKEN_SOURCE="key_file")
    ).problems
    assert name == "GOOGLE_APPLICATION_CREDENTIALS"


# -- gcloud external_account files --------------------------------------------------------------


def test_external_account_file_gives_the_azure_to_google_settings(tmp_path: Path) -> None:
    settings = AzureToGoogleSettings.from_external_account_file(gcloud_azure_file(tmp_path / "cred.json"))

    assert settings.provider == FULL_PROVIDER
    assert settings.azure_audience == AUDIENCE_APP
    assert settings.service_account == BQ_READER
    assert settings.impersonation_url == IMPERSONATION_URL
    assert settings.sts_url == PUBLIC_STS_URL
    assert settings.azure_source == "managed_identity"  # IMDS in the file; App Service works as well
    assert settings.azure_client_id is None


def test_external_account_file_for_a_user_assigned_identity(tmp_path: Path) -> None:
    path = gcloud_azure_file(
        tmp_path / "cred.json",
        credential_source={
            "url": f"{IMDS_URL}&client_id={MANAGED_IDENTITY_CLIENT_ID}",
            "headers": {"Metadata": "True"},
            "format": {"type": "json", "subject_token_field_name": "access_token"},
        },
        service_account_impersonation={"token_lifetime_seconds": 1800},
    )
    settings = AzureToGoogleSettings.from_external_account_file(path)

    assert settings.azure_client_id == MANAGED_IDENTITY_CLIENT_ID
    assert settings.azure_audience == AUDIENCE_APP
    assert settings.service_account_token_lifetime_s == 1800


def test_external_account_file_is_read_from_google_application_credentials(tmp_path: Path) -> None:
    path = gcloud_azure_file(tmp_path / "cred.json")
    from_file = AzureToGoogleSettings.from_external_account_file(path)

    for env in (
        {"GOOGLE_APPLICATION_CREDENTIALS": path},
        {"GOOGLE_APPLICATION_CREDENTIALS": path, "IDENTITY_ENDPOINT": "x"},
    ):
        assert AzureToGoogleSettings.from_env(env) == from_file
    other = "other-sa@fedlab-analytics.iam.gserviceaccount.com"
    # A variable set next to the file wins over the file's value for it, and only for it.
    mixed = AzureToGoogleSettings.from_env(
        {"GOOGLE_APPLICATION_CREDENTIALS": path, "GCP_SERVICE_ACCOUNT": other}
    )
    assert (mixed.service_account, mixed.provider) == (other, FULL_PROVIDER)
    # With GCP_WORKLOAD_IDENTITY_PROVIDER set, the file is not read at all.
    elsewhere = gcloud_azure_file(tmp_path / "elsewhere.json", sts="https://sts.file.test/v1/token")
    variables = AzureToGoogleSettings.from_env({"GOOGLE_APPLICATION_CREDENTIALS": elsewhere, **a2g_env()})
    assert variables.sts_url == PUBLIC_STS_URL
    assert AzureToGoogleSettings.from_env({"GOOGLE_APPLICATION_CREDENTIALS": elsewhere}).sts_url == (
        "https://sts.file.test/v1/token"
    )


def test_external_account_file_with_a_project_id_is_refused(tmp_path: Path) -> None:
    path = gcloud_azure_file(
        tmp_path / "cred.json", audience=FULL_PROVIDER.replace(PROJECT_NUMBER, "fedlab-analytics")
    )

    error = settings_error(lambda env: AzureToGoogleSettings.from_external_account_file(path), {})
    assert any(
        "project NUMBER" in what for name, what in error.problems if name == "GCP_WORKLOAD_IDENTITY_PROVIDER"
    )


def test_gcloud_file_works_on_app_service_where_there_is_no_imds(lab: Lab, tmp_path: Path) -> None:
    """The file names IMDS; the shared credentials use the App Service identity endpoint the lab exports."""
    assert os.environ["IDENTITY_ENDPOINT"] and os.environ["IDENTITY_HEADER"]
    path = gcloud_azure_file(tmp_path / "cred.json", sts=os.environ["GOOGLE_STS_TOKEN_URL"])
    settings = AzureToGoogleSettings.from_external_account_file(
        path,
        iam_credentials_url=os.environ["GOOGLE_IAM_CREDENTIALS_URL"],
        universe_domain="lab.internal",
        retry=FAST_RETRY,
    )
    credentials = google_credentials(settings)

    rows = list(
        bigquery_client(lab, credentials).query_and_wait(
            "SELECT region, orders FROM `fedlab-analytics.federation_demo.regional_sales` ORDER BY orders DESC"
        )
    )

    table = next(d for d in lab.topology.bigquery_datasets if d.dataset_id == "federation_demo").tables[0]
    assert [(row["region"], row["orders"]) for row in rows] == sorted(
        ((region, orders) for region, orders, _ in table.rows), key=lambda r: -r[1]
    )
    counts = lab.counts()
    assert counts["azure.msi.appservice"] == 1
    assert "azure.msi.imds" not in counts
    assert (counts["gcp.sts.token"], counts["gcp.iam.generateAccessToken"]) == (1, 1)
    assert credentials.service_account_email == BQ_READER


# -- secrets stay out of reprs ----------------------------------------------------------------


def test_repr_never_shows_the_client_secret(lab: Lab) -> None:
    secret = lab.client_secret(DEVELOPER_APP)
    env = a2g_env(AZURE_CLIENT_ID=DEVELOPER_APP, AZURE_TENANT_ID=TENANT, AZURE_CLIENT_SECRET=secret)
    settings = AzureToGoogleSettings.from_env(env)

    assert settings.azure_source == "client_secret" and settings.azure_client_secret == secret
    assert secret not in repr(settings) and secret not in str(settings)

    error = settings_error(AzureToGoogleSettings.from_env, {**env, "AZURE_TOKEN_AUDIENCE": "not an audience"})
    assert secret not in f"{error}{error!r}{error.problems}"


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
@pytest.mark.parametrize("read", [AzureToGoogleSettings.from_env, GoogleToAzureSettings.from_env])
def test_a_ca_bundle_that_is_gone_is_named_with_the_other_settings(
    tmp_path: Path, variable: str, read: Any
) -> None:
    """A stopped lab's CA (or any leftover export): named up front, not an OSError at the first request."""
    gone = str(tmp_path / "stopped-lab" / "ca.pem")

    with pytest.raises(SettingsError) as raised:
        read({variable: gone})

    names = [name for name, _ in raised.value.problems]
    assert variable in names and len(names) > 1, "reported with the missing settings, all at once"
    assert gone in str(raised.value)
    ok = tmp_path / "ca.pem"
    ok.write_text("")
    with pytest.raises(SettingsError) as still:
        read({variable: str(ok)})
    assert variable not in [name for name, _ in still.value.problems]
