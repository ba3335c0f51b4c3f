"""Microsoft's and Google's Node SDKs, unchanged, against the lab (both directions).

The scripts in ``node/`` are written as each SDK's documentation shows; the only settings are
endpoints and the CA (NODE_EXTRA_CA_CERTS), plus what the real cloud would need as well off
login.microsoftonline.com (``disableInstanceDiscovery``). Sources:
- @azure/identity ClientAssertionCredential, ManagedIdentityCredential:
  https://learn.microsoft.com/javascript/api/@azure/identity/clientassertioncredential ,
  https://learn.microsoft.com/javascript/api/@azure/identity/managedidentitycredential
- @azure/storage-blob: https://learn.microsoft.com/azure/storage/blobs/storage-quickstart-blobs-nodejs
- google-auth-library workload identity federation (file, url, programmatic sources):
  https://github.com/googleapis/google-auth-library-nodejs#workload-identity-federation
- @google-cloud/bigquery: https://cloud.google.com/nodejs/docs/reference/bigquery/latest
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from lab.core.runtime import Lab
from lab.core.topology import RoleAssignment
from lab.hosting.functions import function_app_settings
from tests.interop import clients

pytestmark = pytest.mark.interop

QUERY = "SELECT region, orders FROM `fedlab-analytics.federation_demo.regional_sales` ORDER BY orders DESC"


def _expected_blobs(lab: Lab, container: str) -> dict[str, str]:
    found = next(c for c in lab.topology.storage_containers if c.name == container)
    return {blob.name: blob.content for blob in found.blobs}


def _assert_read_every_blob(result: dict[str, Any], expected: dict[str, str]) -> None:
    """Listed, sized (list and HEAD) and downloaded exactly as seeded."""
    blobs = {b["name"]: b for b in result["blobs"]}
    assert sorted(blobs) == sorted(expected)
    for name, content in expected.items():
        size = len(content.encode())
        assert blobs[name]["listedSize"] == size, name
        assert blobs[name]["propertiesSize"] == size, f"{name}: HEAD reported {blobs[name]['propertiesSize']}"
        assert blobs[name]["content"] == content, name


def _blob_reader_app(lab: Lab) -> Any:
    account = lab.topology.service_account(lab.topology.runtime.metadata_service_account)
    assert account is not None
    return next(
        app
        for app in lab.topology.applications
        if any(f.subject == account.unique_id for f in app.federated_identity_credentials)
    )


def test_client_assertion_credential_with_a_google_id_token_reads_every_blob(
    lab: Lab, tmp_path: Path
) -> None:
    """google-auth-library finds the metadata server (its probe is GET /computeMetadata/v1/instance),
    fetches an ID token for api://AzureADTokenExchange, and @azure/identity exchanges it at Entra."""
    app = _blob_reader_app(lab)
    container = lab.topology.storage_containers[0].name
    result = clients.node(
        lab,
        tmp_path,
        "azure_blob.mjs",
        "client-assertion",
        env={
            "INTEROP_TENANT_ID": app.tenant_id,
            "INTEROP_CLIENT_ID": app.client_id,
            "INTEROP_CONTAINER": container,
        },
    ).json()
    _assert_read_every_blob(result, _expected_blobs(lab, container))
    hops = {record.hop for record in lab.trace()}
    assert {"gcp.metadata.identity", "entra.token", "azure.blob"} <= hops


def _grant_managed_identity_blob_reader(lab: Lab) -> str:
    """The Function App's identity gets Storage Blob Data Reader on the first container."""
    topology = lab.topology_now()
    identity = next(
        m for m in topology.managed_identities if m.name == topology.runtime.app_service_managed_identity
    )
    container = topology.storage_containers[0]
    scope = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-federation-lab/providers/"
        f"Microsoft.Storage/storageAccounts/{container.storage_account_name}/blobServices/default/containers/"
        f"{container.name}"
    )
    grant = RoleAssignment(
        scope=scope, role_definition_name="Storage Blob Data Reader", principal_id=identity.principal_id
    )
    lab.break_topology(role_assignments=[*topology.role_assignments, grant])
    return container.name


@pytest.mark.parametrize("endpoint", ["app-service", "imds"])
def test_managed_identity_credential_reads_every_blob(lab: Lab, tmp_path: Path, endpoint: str) -> None:
    """App Service (IDENTITY_ENDPOINT + IDENTITY_HEADER) and the VM IMDS, which msal-node calls
    with a trailing slash (``/metadata/identity/oauth2/token/``)."""
    container = _grant_managed_identity_blob_reader(lab)
    env = {"INTEROP_CONTAINER": container}
    if endpoint == "imds":
        env.update(IDENTITY_ENDPOINT="", IDENTITY_HEADER="")
    result = clients.node(lab, tmp_path, "azure_blob.mjs", "managed-identity", env=env).json()
    _assert_read_every_blob(result, _expected_blobs(lab, container))
    hops = {record.hop for record in lab.trace()}
    assert ("azure.msi.imds" if endpoint == "imds" else "azure.msi.appservice") in hops


def test_managed_identity_without_a_role_assignment_is_refused_as_azure_does(
    lab: Lab, tmp_path: Path
) -> None:
    """No Storage Blob Data role: 403 AuthorizationPermissionMismatch, surfaced by the SDK as a RestError."""
    container = lab.topology.storage_containers[0].name
    run = clients.node(
        lab, tmp_path, "azure_blob.mjs", "managed-identity", env={"INTEROP_CONTAINER": container}
    )
    assert run.returncode == 1
    assert (
        "RestError: This request is not authorized to perform this operation using this permission."
        in run.stderr
    )
    assert not run.refused


def _azure_token_file(lab: Lab, path: Path, resource: str) -> Path:
    env = lab.env()
    response = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        timeout=10,
    )
    response.raise_for_status()
    path.write_text(response.json()["access_token"], encoding="utf-8")
    return path


@pytest.mark.parametrize("source", ["url", "file", "supplier"])
def test_external_account_client_queries_bigquery(lab: Lab, tmp_path: Path, source: str) -> None:
    """Azure token (IMDS URL, file, or @azure/identity in code) -> STS -> impersonation -> BigQuery,
    with ``query()`` (jobs.query) and ``createQueryJob()`` + ``getQueryResults()``."""
    settings = function_app_settings(lab)
    resource = settings["AZURE_TOKEN_AUDIENCE"]
    env = {
        "INTEROP_STS_AUDIENCE": lab.sts_audience(),
        "INTEROP_AZURE_RESOURCE": resource,
        "INTEROP_SERVICE_ACCOUNT": settings["GCP_SERVICE_ACCOUNT"],
        "INTEROP_PROJECT": settings["BIGQUERY_PROJECT"],
        "INTEROP_QUERY": QUERY,
    }
    if source == "file":
        env["INTEROP_TOKEN_FILE"] = str(_azure_token_file(lab, tmp_path / "azure-token", resource))
    result = clients.node(lab, tmp_path, "google_bigquery.mjs", source, env=env).json()
    expected = [
        {"region": "westeurope", "orders": 512},
        {"region": "northeurope", "orders": 388},
        {"region": "eastus", "orders": 384},
    ]
    assert result["rows"] == expected
    assert result["jobRows"] == expected
    hops = [record.hop for record in lab.trace()]
    assert "gcp.sts.token" in hops
    assert any(hop.startswith("gcp.iam.") for hop in hops)
    if source == "url":
        assert "azure.msi.imds" in hops
