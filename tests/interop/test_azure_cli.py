"""The Azure CLI, unchanged, signs in to the lab with a Google ID token and lists blobs.

The flow of the public write-ups on Google -> Azure federation: fetch a Google ID token for
``api://AzureADTokenExchange``, ``az login --service-principal --federated-token``
(https://learn.microsoft.com/cli/azure/reference-index#az-login), then
``az storage blob list --auth-mode login``
(https://learn.microsoft.com/azure/storage/blobs/authorize-data-operations-cli).
The lab is registered as a custom cloud (``az cloud register``,
https://learn.microsoft.com/cli/azure/cloud#az-cloud-register), as for Azure Stack Hub
(https://learn.microsoft.com/azure-stack/user/azure-stack-version-profiles-azurecli2), with MSAL's
instance discovery off for an authority that is not Microsoft's (``core.instance_discovery``,
read in azure-cli's ``azure/cli/core/_profile.py``). Trust: REQUESTS_CA_BUNDLE, as the CLI
documents for proxies (https://learn.microsoft.com/cli/azure/use-azure-cli-successfully-troubleshooting#work-behind-a-proxy).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.core.runtime import Lab
from tests.interop import clients
from tests.test_fidelity_refusals import google_id_token

pytestmark = pytest.mark.interop


_ok = clients.az_ok


def test_az_login_with_a_federated_google_token_then_blob_list(lab: Lab, tmp_path: Path) -> None:
    account = lab.topology.service_account(lab.topology.runtime.metadata_service_account)
    assert account is not None
    app = next(
        a
        for a in lab.topology.applications
        if any(f.subject == account.unique_id for f in a.federated_identity_credentials)
    )
    container = lab.topology.storage_containers[0]
    env = lab.env()

    accounts = json.loads(
        clients.az_login_federated(
            lab, tmp_path, client_id=app.client_id, tenant_id=app.tenant_id, federated_token=google_id_token()
        )
    )
    assert [a["tenantId"] for a in accounts] == [app.tenant_id]
    assert accounts[0]["user"] == {"name": app.client_id, "type": "servicePrincipal"}
    hops = [record.hop for record in lab.trace()]
    assert "entra.token" in hops and "azure.arm.subscriptions.list" in hops

    storage = ("--account-name", container.storage_account_name, "--container-name", container.name)
    endpoint = ("--blob-endpoint", env["LAB_BLOB_ACCOUNT_URL"], "--auth-mode", "login", "--output", "json")
    listed = json.loads(_ok(clients.az(lab, tmp_path, "storage", "blob", "list", *storage, *endpoint)))
    expected = {blob.name: len(blob.content.encode()) for blob in container.blobs}
    assert {blob["name"]: blob["properties"]["contentLength"] for blob in listed} == expected

    name = sorted(expected)[0]
    shown = json.loads(
        _ok(clients.az(lab, tmp_path, "storage", "blob", "show", *storage, "--name", name, *endpoint))
    )
    assert shown["properties"]["contentLength"] == expected[name]
