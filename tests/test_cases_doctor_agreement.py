"""Real-world case, kind 3: doctor agrees with the function — same normalisation, same rules, same verdict.

The example: a v2 audience app whose identifier URI is ``api://gcp-federation`` and a provider that
allows its client ID. The Function App answered 200, but ``doctor azure-to-google`` failed at
``azure.token`` ("aud is '<GUID>', not AZURE_TOKEN_AUDIENCE"): doctor judged the token's ``aud``
by a rule of its own, while a v2 access token's ``aud`` is the resource app's client ID whatever
identifier URI was asked for (Microsoft's access token claims reference,
https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference, "aud"; seen in
https://learn.microsoft.com/en-us/answers/a/1173437). Only STS judges ``aud``, for both.

The agreement test runs every working configuration built here (both directions, every credential
source the lab serves, impersonation and direct access, v1 and v2 tokens, a gcloud credential file)
and every case of the misconfiguration matrix through the function and through doctor, and requires
the same verdict: 200 and every hop ok, or the same failing hop.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios.misconfigurations import (
    CLOUD_FUNCTION,
    FUNCTION_APP,
    MISCONFIGURATIONS,
    Misconfiguration,
    gcloud_azure_cred_config,
    replace_provider,
)
from shared import doctor
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings, make_mistake
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig
Setup = Callable[[Lab, Path], dict[str, str | None]]


def _v2_with_a_named_identifier_uri(lab: Lab, tmp_path: Path) -> dict[str, str | None]:
    """The example: identifier URI api://gcp-federation, v2 tokens, the provider allows the client ID."""
    provider = lab.topology_now().workload_identity_pool_providers[0]
    app = next(
        a for a in lab.topology_now().applications if provider.allowed_audiences[0] in a.identifier_uris
    )
    changed = dataclasses.replace(
        app, identifier_uris=("api://gcp-federation",), requested_access_token_version=2
    )
    lab.break_topology(applications=[changed if a is app else a for a in lab.topology_now().applications])
    replace_provider(
        lab,
        issuer_uri=f"https://login.microsoftonline.com/{app.tenant_id}/v2.0",
        allowed_audiences=(app.client_id,),
    )
    return {"AZURE_TOKEN_AUDIENCE": "api://gcp-federation"}


def _direct_resource_access(lab: Lab, tmp_path: Path) -> dict[str, str | None]:
    return {"GCP_SERVICE_ACCOUNT": None}


def _client_secret_source(lab: Lab, tmp_path: Path) -> dict[str, str | None]:
    developer = next(a for a in lab.topology.applications if a.password)
    return {
        "AZURE_CREDENTIAL_SOURCE": "client_secret",
        "AZURE_CLIENT_ID": developer.client_id,
        "AZURE_TENANT_ID": developer.tenant_id,
        "AZURE_CLIENT_SECRET": lab.client_secret(developer.client_id),
    }


def _gcloud_credential_file(lab: Lab, tmp_path: Path) -> dict[str, str | None]:
    """A create-cred-config --azure file made with --app-id-uri (the provider's allowed audience)."""
    path = tmp_path / "cred-config.json"
    audience = function_app_settings(lab)["AZURE_TOKEN_AUDIENCE"]
    path.write_text(json.dumps(gcloud_azure_cred_config(lab, resource=audience)))
    return {
        "GOOGLE_APPLICATION_CREDENTIALS": str(path),
        "GCP_WORKLOAD_IDENTITY_PROVIDER": None,
        "AZURE_TOKEN_AUDIENCE": None,
        "GCP_SERVICE_ACCOUNT": None,
    }


def _key_file_source(lab: Lab, tmp_path: Path) -> dict[str, str | None]:
    key = lab.service_account_key_file(lab.topology.runtime.metadata_service_account, tmp_path / "key.json")
    return {"GOOGLE_ID_TOKEN_SOURCE": "key_file", "GOOGLE_APPLICATION_CREDENTIALS": str(key)}


def _impersonation_source(lab: Lab, tmp_path: Path) -> dict[str, str | None]:
    developer = next(a.email for a in lab.topology.service_accounts if a.account_id == "local-developer")
    key = lab.service_account_key_file(developer, tmp_path / "adc.json")
    return {
        "GOOGLE_ID_TOKEN_SOURCE": "impersonation",
        "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT": lab.topology.runtime.metadata_service_account,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key),
    }


WORKING: dict[str, tuple[str, Setup]] = {
    "function-app-default": (FUNCTION_APP, lambda lab, tmp: {}),
    "v2-token-named-identifier-uri": (FUNCTION_APP, _v2_with_a_named_identifier_uri),
    "direct-resource-access": (FUNCTION_APP, _direct_resource_access),
    "client-secret-source": (FUNCTION_APP, _client_secret_source),
    "gcloud-credential-file": (FUNCTION_APP, _gcloud_credential_file),
    "cloud-function-metadata": (CLOUD_FUNCTION, lambda lab, tmp: {}),
    "cloud-function-key-file": (CLOUD_FUNCTION, _key_file_source),
    "cloud-function-impersonation": (CLOUD_FUNCTION, _impersonation_source),
}


def function_verdict(lab: Lab, monkeypatch: pytest.MonkeyPatch, function: str) -> tuple[bool, str | None]:
    if function == CLOUD_FUNCTION:
        response = entrypoints.cloud_function(lab).get("/")
        status, body = response.status_code, response.get_json()
    else:
        status, body, _ = entrypoints.function_app(lab, monkeypatch)()
    error: dict[str, Any] = body.get("error") or {}
    return status == 200, (None if status == 200 else str(error.get("hop", "settings")))


def doctor_verdict(function: str) -> tuple[bool, str | None]:
    direction = doctor.GOOGLE_TO_AZURE if function == CLOUD_FUNCTION else doctor.AZURE_TO_GOOGLE
    verdicts = doctor.run(direction)
    failed = [v for v in verdicts if not v.ok]
    return not failed, (failed[0].hop if failed else None)


@pytest.mark.parametrize("name", sorted(WORKING))
def test_doctor_and_the_function_agree_on_every_working_configuration(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    function, setup = WORKING[name]
    healthy = cloud_function_settings(lab) if function == CLOUD_FUNCTION else function_app_settings(lab)
    apply_settings(monkeypatch, {**healthy, **FAST_RETRIES})
    apply_settings(monkeypatch, setup(lab, tmp_path))

    assert function_verdict(lab, monkeypatch, function) == (True, None)
    assert doctor_verdict(function) == (True, None)


@pytest.mark.parametrize("case", MISCONFIGURATIONS, ids=lambda case: case.key)
def test_doctor_and_the_function_agree_on_every_mistake(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, case: Misconfiguration
) -> None:
    make_mistake(lab, monkeypatch, case, **FAST_RETRIES)

    by_function = function_verdict(lab, monkeypatch, case.function)
    by_doctor = doctor_verdict(case.function)

    assert by_function == by_doctor == (False, case.hop)
