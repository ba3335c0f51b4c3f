"""No app registration needed, and AKS end to end: user-assigned managed identities with federated credentials.

* The lab's AKS issuer publishes discovery and JWKS that a third-party verifier (PyJWT's ``PyJWKClient``)
  uses to check a projected service-account token, as Entra does.
* Azure -> Google from AKS: azure-identity's ``WorkloadIdentityCredential`` (``AZURE_CREDENTIAL_SOURCE=
  workload_identity``) presents the projected token for the user-assigned identity whose federated
  credential trusts ``system:serviceaccount:analytics:bigquery-reader``; BigQuery answers, across a rotation
  of the file by the lab's kubelet, and doctor passes every hop.
* Google -> Azure through a user-assigned identity: the Cloud Function, unchanged, with the identity's
  client ID; Entra's token is the identity's (its principal ID as ``oid``); doctor names the identity.
"""

from __future__ import annotations

import io
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from lab.azure.aks import ProjectedTokenFile
from lab.core.runtime import Lab
from lab.core.topology import TopologyError, load
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios import workload_identity as wi
from shared.azure_to_google import google_credentials
from shared.doctor import checks as doctor
from shared.doctor import cli
from shared.google_to_azure import GoogleFederatedCredential
from shared.redaction import shown_claims
from shared.settings import AzureToGoogleSettings
from tests.support import entrypoints
from tests.support.entrypoints import apply_settings
from tests.support.federation import STORAGE_SCOPE, bigquery_client, google_to_azure_settings
from tests.support.retries import FAST_RETRY


@pytest.fixture
def identities(lab: Lab) -> Iterator[None]:
    """The default topology plus the user-assigned identities (the lab restores it after the test)."""
    lab.set_topology(wi.with_user_assigned_identities(lab.topology_now(), lab.aks_issuer))
    yield


@pytest.fixture
def projected(lab: Lab, tmp_path: Path) -> Iterator[ProjectedTokenFile]:
    """The kubelet's projected token, 6 s long, rotated at 80 % of its life."""
    with ProjectedTokenFile(
        lab.keys,
        lab.controls,
        tmp_path / "azure-identity-token",
        issuer=lab.aks_issuer,
        namespace=wi.AKS_NAMESPACE,
        service_account=wi.AKS_SERVICE_ACCOUNT,
        expiration_s=6,
    ) as token_file:
        yield token_file


def _aks_env(lab: Lab, token_file: Path) -> dict[str, str]:
    """What the workload identity webhook injects into the pod, plus the Azure Function's settings."""
    env = {k: v for k, v in lab.env().items() if k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    return {
        **env,
        **function_app_settings(lab),
        "AZURE_CREDENTIAL_SOURCE": "workload_identity",
        "AZURE_CLIENT_ID": wi.AKS_CLIENT_ID,
        "AZURE_TENANT_ID": lab.topology.tenants[0].tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        **{"FEDERATION_RETRY_DEADLINE_S": "5", "FEDERATION_ATTEMPT_TIMEOUT_S": "2"},
    }


@pytest.mark.fidelity
def test_the_issuer_publishes_keys_that_verify_projected_tokens(
    lab: Lab, projected: ProjectedTokenFile
) -> None:
    discovery = requests.get(
        f"{lab.url('azure.aks_issuer')}/.well-known/openid-configuration", verify=str(lab.ca_file), timeout=5
    ).json()
    assert discovery["issuer"] == lab.aks_issuer
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = jwt.PyJWKClient(
        discovery["jwks_uri"], ssl_context=ssl.create_default_context(cafile=str(lab.ca_file))
    )
    token = projected.path.read_text()
    signing_key = keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience="api://AzureADTokenExchange",
        issuer=lab.aks_issuer,
    )
    assert claims["sub"] == "system:serviceaccount:analytics:bigquery-reader"
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "bigquery-reader"
    assert claims["exp"] - claims["iat"] == 6


@pytest.mark.e2e
def test_aks_workload_identity_to_bigquery_across_a_rotation_with_doctor(
    lab: Lab, identities: None, projected: ProjectedTokenFile
) -> None:
    env = _aks_env(lab, projected.path)
    settings = AzureToGoogleSettings.from_env(env, retry=FAST_RETRY)
    assert settings.azure_source == "workload_identity"
    lab.controls.token_lifetime_s = 5  # Entra, STS and IAM tokens expire too: the same client re-exchanges
    credentials = google_credentials(settings)
    client = bigquery_client(lab, credentials)
    assert [r["one"] for r in client.query("SELECT 1 AS one").result()] == [1]
    claims = credentials._supplier.last_claims
    assert claims["oid"] == wi.AKS_PRINCIPAL_ID

    first = projected.path.read_text()
    first_expiry = jwt.decode(first, options={"verify_signature": False})["exp"]
    deadline = time.time() + 20
    while (projected.rotations < 2 or time.time() <= first_expiry + 1) and time.time() < deadline:
        time.sleep(0.2)
    assert projected.path.read_text() != first and time.time() > first_expiry

    # The same client after its tokens expired and the file rotated...
    assert [r["one"] for r in client.query("SELECT 2 AS one").result()] == [2]
    # ...and doctor, reading the rotated file afresh, passes every hop.
    verdicts = doctor.run(doctor.AZURE_TO_GOOGLE, env)
    assert [(v.hop, v.ok) for v in verdicts] == [
        ("settings", True),
        ("azure.token", True),
        ("gcp.sts", True),
        ("gcp.iam", True),
        ("google.data", True),
    ]
    assert "WorkloadIdentityCredential" in verdicts[1].detail
    assert verdicts[1].claims["oid"] == wi.AKS_PRINCIPAL_ID


@pytest.mark.misconfig
def test_aks_subject_mismatch_names_the_service_account(lab: Lab, identities: None, tmp_path: Path) -> None:
    with ProjectedTokenFile(
        lab.keys,
        lab.controls,
        tmp_path / "token",
        issuer=lab.aks_issuer,
        namespace="default",
        service_account="app",
    ) as wrong:
        verdicts = doctor.run(doctor.AZURE_TO_GOOGLE, _aks_env(lab, wrong.path))
    failed = verdicts[-1]
    # Entra answers an issuer it trusts with an unknown subject with AADSTS700213
    # (Azure/login#482, Azure/azure-workload-identity#1200).
    assert (failed.hop, failed.ok, failed.code) == ("entra.token", False, "AADSTS700213")
    assert wi.AKS_CLIENT_ID in failed.fix and "system:serviceaccount:default:app" in failed.fix
    assert "Google" not in failed.fix


@pytest.mark.fidelity
def test_the_cloud_function_lists_blobs_as_a_user_assigned_identity(
    lab: Lab, identities: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), "AZURE_CLIENT_ID": wi.BLOB_READER_CLIENT_ID})
    response = entrypoints.cloud_function(lab).get("/")
    assert response.status_code == 200, response.get_json()
    names = {b["name"] for b in response.get_json()["blobs"]}
    assert names == {b.name for b in lab.topology.storage_containers[0].blobs}

    credential = GoogleFederatedCredential(google_to_azure_settings(client_id=wi.BLOB_READER_CLIENT_ID))
    claims = shown_claims(credential.get_token(STORAGE_SCOPE).token)
    assert claims["oid"] == wi.BLOB_READER_PRINCIPAL_ID


@pytest.mark.misconfig
def test_doctor_names_the_managed_identity_not_an_app_registration(
    lab: Lab, identities: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), "AZURE_CLIENT_ID": wi.BLOB_READER_CLIENT_ID})
    out = io.StringIO()
    assert (
        cli.main(["doctor", "google-to-azure", "--identity", "user_assigned_identity", "--json"], out=out)
        == 0
    )
    entra_hop = next(h for h in json.loads(out.getvalue())["hops"] if h["hop"] == "gcp.id_token")
    assert f"user-assigned managed identity {wi.BLOB_READER_CLIENT_ID}" in entra_hop["detail"]

    # Its federated credential's subject is wrong: the fix names the identity and its Terraform resource.
    topology = lab.topology_now()
    identities_ = [
        m
        if m.name != wi.BLOB_READER_IDENTITY
        else _with_subject(m, "blob-reader-fn@fedlab-analytics.iam.gserviceaccount.com")
        for m in topology.managed_identities
    ]
    lab.set_topology(topology.evolve(managed_identities=identities_))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"google_to_azure_identity_kind": {"value": "user_assigned_identity"}}))
    out = io.StringIO()
    assert cli.main(["doctor", "google-to-azure", "--terraform-outputs", str(outputs)], out=out) == 1
    text = out.getvalue()
    assert "user-assigned managed identity" in text and "app registration" not in text
    assert "azurerm_federated_identity_credential" in text or "unique ID" in text

    # Without the kind, the same failure names an app registration (the default), as before.
    out = io.StringIO()
    assert cli.main(["doctor", "google-to-azure"], out=out) == 1
    assert "user-assigned managed identity" not in out.getvalue()


@pytest.mark.misconfig
def test_without_its_role_the_identity_gets_the_identity_fix(
    lab: Lab, identities: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = lab.topology_now()
    lab.set_topology(
        topology.evolve(
            role_assignments=[
                r for r in topology.role_assignments if r.principal_id != wi.BLOB_READER_PRINCIPAL_ID
            ]
        )
    )
    env = {**cloud_function_settings(lab), "AZURE_CLIENT_ID": wi.BLOB_READER_CLIENT_ID}
    apply_settings(monkeypatch, env)
    verdicts = doctor.run(
        doctor.GOOGLE_TO_AZURE, expected={"google_to_azure_identity_kind": "user_assigned_identity"}
    )
    failed = verdicts[-1]
    assert (failed.hop, failed.ok, failed.code) == ("azure.data", False, "AuthorizationPermissionMismatch")
    assert "user-assigned managed identity's principal ID" in failed.fix


@pytest.mark.lab
def test_only_user_assigned_identities_sign_in_with_federated_credentials(lab: Lab, identities: None) -> None:
    """The Function App's system-assigned identity is no confidential client: 700016, as for an unknown app."""
    system_assigned = next(m for m in lab.topology.managed_identities if m.type == "SystemAssigned")
    response = requests.post(
        f"{lab.url('entra')}/{lab.topology.tenants[0].tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": system_assigned.client_id,
            "scope": STORAGE_SCOPE,
            "client_secret": "x",
        },
        verify=str(lab.ca_file),
        timeout=5,
    )
    assert response.status_code == 400 and response.json()["error_codes"] == [700016]


@pytest.mark.lab
def test_a_topology_refuses_federated_credentials_on_a_system_assigned_identity(tmp_path: Path) -> None:
    from lab.core.topology import DEFAULT_TOPOLOGY

    text = DEFAULT_TOPOLOGY.read_text() + (
        '\n[[managed_identities.federated_identity_credentials]]\nname = "x"\n'
        'issuer = "https://accounts.google.com"\nsubject = "1"\naudience = ["api://AzureADTokenExchange"]\n'
    )
    path = tmp_path / "topology.toml"
    path.write_text(text)
    (tmp_path / "data").symlink_to(DEFAULT_TOPOLOGY.parent / "data")
    with pytest.raises(TopologyError, match="UserAssigned"):
        load(path)


def _with_subject(identity: object, subject: str) -> object:
    import dataclasses

    fic = dataclasses.replace(identity.federated_identity_credentials[0], subject=subject)  # type: ignore[attr-defined]
    return dataclasses.replace(identity, federated_identity_credentials=(fic,))  # type: ignore[type-var]
