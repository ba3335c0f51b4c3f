"""Other languages and tools through this project's commands, unchanged, against the lab.

* Node's google-auth-library reads the ``external_account`` file ``federation credential-file`` wrote
  (GOOGLE_APPLICATION_CREDENTIALS), runs ``federation executable-source`` as its executable source and
  completes Azure -> Google -> BigQuery (google-auth-library-nodejs README, "Using Executable-sourced
  credentials with OIDC and SAML").
* ``federation token-file`` keeps a Google ID token in a file; Node's @azure/identity
  ``WorkloadIdentityCredential`` (AZURE_FEDERATED_TOKEN_FILE) and the Azure CLI
  (``az login --service-principal --federated-token``, https://learn.microsoft.com/cli/azure/reference-index#az-login)
  read it and list blobs — before, and after the first token expired and the keeper renewed the file.
"""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import jwt
import pytest

from lab.core.runtime import Lab
from shared.doctor.cli import main
from shared.tools import token_file
from tests.interop import clients
from tests.support.federation import BLOB_READER_APP, azure_to_google_env

pytestmark = pytest.mark.interop

QUERY = "SELECT region, orders FROM `fedlab-analytics.federation_demo.regional_sales` ORDER BY orders DESC"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def test_node_google_auth_runs_our_executable_and_queries_bigquery(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in azure_to_google_env(lab).items():
        monkeypatch.setenv(name, value)
    credentials = tmp_path / "credentials.json"
    cache = tmp_path / "executable-cache.json"
    assert main(["credential-file", str(credentials), "--output-file", str(cache)], out=io.StringIO()) == 0

    env = {
        "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
        "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES": "1",
        "INTEROP_PROJECT": "fedlab-analytics",
        "INTEROP_QUERY": QUERY,
    }
    result = clients.node(lab, tmp_path / "home", "adc_bigquery.mjs", env=env).json()
    assert result["client"] == "PluggableAuthClient"
    table = next(d for d in lab.topology.bigquery_datasets if d.dataset_id == "federation_demo").tables[0]
    expected = sorted(((r[0], r[1]) for r in table.rows), key=lambda r: -r[1])
    assert [(r["region"], r["orders"]) for r in result["rows"]] == expected
    counts = lab.counts()
    assert counts.get("azure.msi.appservice") == 1
    assert counts.get("gcp.sts.token") == 1 and counts.get("gcp.iam.generateAccessToken") == 1
    assert json.loads(cache.read_text())["success"] is True  # the library's cache, written by our command

    # A second Node process finds the cached response: no second Azure token request.
    again = clients.node(lab, tmp_path / "home", "adc_bigquery.mjs", env=env).json()
    assert again["rows"] == result["rows"]
    assert lab.counts().get("azure.msi.appservice") == 1


def _node_blobs(lab: Lab, home: Path, path: Path) -> list[str]:
    env = {
        "AZURE_FEDERATED_TOKEN_FILE": str(path),
        "AZURE_CLIENT_ID": BLOB_READER_APP,
        "AZURE_TENANT_ID": lab.topology.tenants[0].tenant_id,
        "INTEROP_CONTAINER": lab.topology.storage_containers[0].name,
    }
    return sorted(clients.node(lab, home, "workload_identity_blob.mjs", env=env).json()["names"])


_ok = clients.az_ok


def _az_blobs(lab: Lab, home: Path, path: Path) -> list[str]:
    """``az login --federated-token "$(cat FILE)"`` in a custom cloud for the lab, then ``az storage blob list``."""
    env = lab.env()
    clients.az_login_federated(
        lab,
        home,
        client_id=BLOB_READER_APP,
        tenant_id=lab.topology.tenants[0].tenant_id,
        federated_token=path.read_text(),
    )
    container = lab.topology.storage_containers[0]
    listed = _ok(
        clients.az(
            lab, home,
            "storage", "blob", "list",
            "--account-name", container.storage_account_name, "--container-name", container.name,
            "--blob-endpoint", env["LAB_BLOB_ACCOUNT_URL"], "--auth-mode", "login", "--output", "json",
        )
    )  # fmt: skip
    return sorted(blob["name"] for blob in json.loads(listed))


def test_node_and_az_read_the_kept_token_file_before_and_after_renewal(lab: Lab, tmp_path: Path) -> None:
    expected = sorted(b.name for b in lab.topology.storage_containers[0].blobs)
    path = tmp_path / "tokens" / "azure-identity-token"
    settings = token_file.id_token_settings({**lab.env(), "AZURE_CLIENT_ID": BLOB_READER_APP})
    keeper = token_file.TokenFileKeeper(path, settings, TOKEN_EXCHANGE_AUDIENCE)

    # The first token lives 8 s (the keeper renews it half-way); later ones an hour, like the clients' tokens.
    lab.controls.token_lifetime_s = 8
    assert keeper.refresh_if_due() is not None
    lab.controls.token_lifetime_s = 3600
    first = path.read_text()
    first_expiry = jwt.decode(first, options={"verify_signature": False})["exp"]

    stop = threading.Event()
    runner = threading.Thread(target=keeper.run, args=(stop,))
    runner.start()
    try:
        assert _node_blobs(lab, tmp_path / "node-1", path) == expected
        while time.time() <= first_expiry + 1:
            time.sleep(0.2)
        renewed = path.read_text()
        assert renewed != first, "the keeper renewed the file before the first token expired"
        assert jwt.decode(renewed, options={"verify_signature": False})["exp"] > time.time() + 600
        # After the first token expired: both clients read the renewed file.
        assert _node_blobs(lab, tmp_path / "node-2", path) == expected
        assert _az_blobs(lab, tmp_path / "az", path) == expected
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
