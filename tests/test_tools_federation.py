"""The federation for other tools: Google's executable source, the credential file, the token-file keeper.

The executable is run the way Google's libraries run it: google-auth's own ``pluggable.Credentials``
(unchanged) reads the file ``federation credential-file`` wrote, runs ``federation executable-source``
as a subprocess and exchanges its token at the lab's STS. The response format, the exit status and
the output-file cache follow AIP-4117 (https://google.aip.dev/auth/4117) and google-auth's
``pluggable.py``; the token file is read by azure-identity's ``WorkloadIdentityCredential`` unchanged.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from azure.identity import WorkloadIdentityCredential
from azure.storage.blob import BlobServiceClient
from google.auth import exceptions as google_exceptions
from google.auth import pluggable
from google.auth.transport.requests import Request

from lab.core.runtime import Lab
from shared.doctor.cli import main
from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings
from shared.tools import executable, token_file
from shared.tools.credential_file import credential_config
from tests.support.federation import (
    AUDIENCE_APP,
    BLOB_READER_APP,
    BQ_READER,
    azure_to_google_env,
    bigquery_client,
    seeded_blob_names,
)

CLOUD_PLATFORM = ["https://www.googleapis.com/auth/cloud-platform"]
MSI = "azure.msi.appservice"


@pytest.fixture
def azure_env(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The Azure Function's environment, as the process environment (the libraries pass it on)."""
    env = azure_to_google_env(lab, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES="1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _federation(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _credential_file(tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "credentials.json"
    out = io.StringIO()
    assert main(["credential-file", str(path), *extra], out=out) == 0
    assert "eyJ" not in out.getvalue()
    return path


@pytest.mark.fidelity
def test_google_auth_runs_the_executable_and_queries_bigquery(
    lab: Lab, azure_env: dict[str, str], tmp_path: Path
) -> None:
    path = _credential_file(tmp_path, "--output-file", str(tmp_path / "cache.json"))
    config = json.loads(path.read_text())
    assert config["credential_source"]["executable"]["command"].split()[-3:] == [
        "executable-source",
        "--azure-audience",
        AUDIENCE_APP,
    ]
    assert config["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert config["service_account_impersonation_url"].endswith(f"{BQ_READER}:generateAccessToken")

    credentials = pluggable.Credentials.from_file(str(path), scopes=CLOUD_PLATFORM)
    rows = list(bigquery_client(lab, credentials).query("SELECT 1 AS one").result())
    assert [row["one"] for row in rows] == [1]
    assert lab.counts().get(MSI) == 1

    cache = tmp_path / "cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    cached = json.loads(cache.read_text())
    assert cached["success"] is True and cached["version"] == 1
    assert cached["expiration_time"] > time.time()

    # A second process (a new credentials object) takes the cached response: no second Azure request.
    again = pluggable.Credentials.from_file(str(path), scopes=CLOUD_PLATFORM)
    again.refresh(Request())
    assert again.token and lab.counts().get(MSI) == 1


@pytest.mark.fidelity
def test_the_library_reads_its_own_executable_file(
    lab: Lab, azure_env: dict[str, str], tmp_path: Path
) -> None:
    """GOOGLE_APPLICATION_CREDENTIALS pointing at our file configures shared/ too, with the environment's
    Azure source (not the managed identity a gcloud --azure file implies)."""
    path = _credential_file(tmp_path)
    env = {
        k: v
        for k, v in azure_env.items()
        if k not in ("GCP_WORKLOAD_IDENTITY_PROVIDER", "AZURE_TOKEN_AUDIENCE", "GCP_SERVICE_ACCOUNT")
    }
    env.update(GOOGLE_APPLICATION_CREDENTIALS=str(path), AZURE_CREDENTIAL_SOURCE="client_secret")
    env.update(AZURE_CLIENT_ID="432201a8-6ef7-467c-9cf0-f6221751ee5e", AZURE_CLIENT_SECRET="x" * 20)
    settings = AzureToGoogleSettings.from_env(env)
    assert settings.azure_audience == AUDIENCE_APP
    assert settings.azure_source == "client_secret"
    assert settings.service_account == BQ_READER
    assert settings.provider == lab.sts_audience()


@pytest.mark.misconfig
def test_a_missing_setting_is_the_documented_error_response(azure_env: dict[str, str]) -> None:
    env = {k: v for k, v in azure_env.items() if k != "AZURE_TOKEN_AUDIENCE"}
    result = _federation("executable-source", env=env)
    assert result.returncode == 1
    response = json.loads(result.stdout)
    assert response["version"] == 1 and response["success"] is False
    assert response["code"] == "misconfigured"
    assert "AZURE_TOKEN_AUDIENCE" in response["message"]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.misconfig
def test_an_entra_refusal_reaches_google_auth_with_its_code_and_fix(
    lab: Lab, azure_env: dict[str, str], tmp_path: Path
) -> None:
    path = _credential_file(tmp_path, "--azure-audience", "api://no-such-app")
    credentials = pluggable.Credentials.from_file(str(path), scopes=CLOUD_PLATFORM)
    with pytest.raises(google_exceptions.RefreshError) as raised:
        credentials.refresh(Request())
    text = str(raised.value)
    assert "AADSTS500011" in text and "AZURE_TOKEN_AUDIENCE" in text
    assert not any(token in text for token in lab.minted())
    assert lab.counts().get("gcp.sts.token", 0) == 0


@pytest.mark.misconfig
def test_google_auth_refuses_to_run_it_unless_executables_are_allowed(
    azure_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _credential_file(tmp_path)
    monkeypatch.delenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES")
    credentials = pluggable.Credentials.from_file(str(path), scopes=CLOUD_PLATFORM)
    with pytest.raises(google_exceptions.MalformedError, match="GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"):
        credentials.refresh(Request())


@pytest.mark.misconfig
def test_a_timeout_outside_the_libraries_range_is_refused(lab: Lab, azure_env: dict[str, str]) -> None:
    settings = AzureToGoogleSettings.from_env(azure_env)
    for bad in (4_999, 120_001):
        with pytest.raises(ValueError, match="timeout"):
            credential_config(settings, timeout_ms=bad)
    assert (
        credential_config(settings, timeout_ms=5_000)["credential_source"]["executable"]["timeout_millis"]
        == 5_000
    )


@pytest.mark.singleflight
def test_concurrent_processes_share_one_azure_token_through_the_output_file(
    lab: Lab, azure_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**azure_env, executable.OUTPUT_FILE_VARIABLE: str(tmp_path / "cache.json")}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _federation("executable-source", env=env), range(4)))
    assert [r.returncode for r in results] == [0, 0, 0, 0]
    tokens = {json.loads(r.stdout)["id_token"] for r in results}
    assert len(tokens) == 1
    assert lab.counts().get(MSI) == 1


def test_an_expired_cache_is_not_served(tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    cache.write_text(json.dumps(executable.success_response("a.b.c", int(time.time()) - 1)))
    assert executable.read_cached(cache) is None
    cache.write_text(json.dumps(executable.error_response("401", "no")))
    assert executable.read_cached(cache) is None
    cache.write_text(json.dumps(executable.success_response("a.b.c", int(time.time()) + 100)))
    assert executable.read_cached(cache) is not None


# -- the token file -------------------------------------------------------------------------------


def _google_env(lab: Lab) -> dict[str, str]:
    return {**os.environ, "AZURE_CLIENT_ID": BLOB_READER_APP}


def _workload_identity_blobs(lab: Lab, path: Path) -> list[str]:
    """azure-identity's WorkloadIdentityCredential, unchanged, reading the kept file; lists the container."""
    credential = WorkloadIdentityCredential(
        tenant_id=lab.topology.tenants[0].tenant_id,
        client_id=BLOB_READER_APP,
        token_file_path=str(path),
        authority=lab.url("entra"),
        disable_instance_discovery=True,
    )
    service = BlobServiceClient(lab.blob_account_url, credential=credential, retry_total=0)
    return sorted(b.name for b in service.get_container_client("reports").list_blobs())


@pytest.fixture
def short_lived_tokens(lab: Lab) -> Iterator[int]:
    lab.controls.token_lifetime_s = 6
    yield 6


@pytest.mark.e2e
def test_the_keeper_renews_the_file_before_expiry_and_sdks_keep_working(
    lab: Lab, tmp_path: Path, short_lived_tokens: int
) -> None:
    path = tmp_path / "run" / "azure-identity-token"
    settings = token_file.id_token_settings(_google_env(lab))
    keeper = token_file.TokenFileKeeper(path, settings, "api://AzureADTokenExchange", renew_before_s=600)
    stop = threading.Event()
    runner = threading.Thread(target=keeper.run, args=(stop,))
    runner.start()
    try:
        deadline = time.time() + 10
        while not path.exists() and time.time() < deadline:
            time.sleep(0.05)
        first = path.read_text()
        first_expiry = keeper.expires_at()
        assert first_expiry is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert _workload_identity_blobs(lab, path) == seeded_blob_names(lab)

        # Renewed half-way through its 6 s life, before it expired...
        while path.read_text() == first and time.time() < first_expiry + 5:
            time.sleep(0.1)
        renewed_at = time.time()
        assert path.read_text() != first
        assert renewed_at < first_expiry
        # ...and after the first token has expired, a new consumer still lists the blobs with the file.
        while time.time() <= first_expiry + 1:
            time.sleep(0.1)
        assert _workload_identity_blobs(lab, path) == seeded_blob_names(lab)
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    assert lab.counts().get("gcp.metadata.identity", 0) >= 2


@pytest.mark.singleflight
def test_one_shot_renewals_fetch_once_and_not_while_fresh(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "token"
    settings = token_file.id_token_settings(_google_env(lab))
    keepers = [token_file.TokenFileKeeper(path, settings, "api://AzureADTokenExchange") for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        written = list(pool.map(lambda k: k.refresh_if_due(), keepers))
    assert sum(w is not None for w in written) == 1
    assert lab.counts().get("gcp.metadata.identity") == 1
    assert keepers[0].refresh_if_due() is None
    assert lab.counts().get("gcp.metadata.identity") == 1


@pytest.mark.e2e
def test_token_file_once_prints_claims_and_id_token_prints_the_token(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", BLOB_READER_APP)
    path = tmp_path / "token"
    out = io.StringIO()
    assert main(["token-file", str(path), "--once"], out=out) == 0
    token = path.read_text()
    assert token not in out.getvalue() and "renewed" in out.getvalue()
    assert "api://AzureADTokenExchange" in out.getvalue()
    printed = io.StringIO()
    assert main(["id-token", "--audience", "https://example.test/app"], out=printed) == 0
    from google.auth import jwt

    assert jwt.decode(printed.getvalue().strip(), verify=False)["aud"] == "https://example.test/app"


@pytest.mark.misconfig
def test_a_keeper_failure_names_the_hop_and_leaves_no_file(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOOGLE_ID_TOKEN_SOURCE", "impersonation")
    monkeypatch.setenv("GOOGLE_IMPERSONATE_SERVICE_ACCOUNT", "not-an-email")
    assert main(["token-file", str(tmp_path / "token"), "--once"], out=io.StringIO()) == 1
    assert "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT" in capsys.readouterr().err
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize(
    ("authority", "audience"),
    [
        ("AzurePublicCloud", "api://AzureADTokenExchange"),
        ("AzureUSGovernment", "api://AzureADTokenExchangeUSGov"),
        ("AzureChinaCloud", "api://AzureADTokenExchangeChina"),
    ],
)
def test_the_audience_follows_the_azure_cloud(authority: str, audience: str) -> None:
    env = {"AZURE_AUTHORITY_HOST": authority}
    settings = token_file.id_token_settings(env)
    assert isinstance(settings, GoogleToAzureSettings)
    assert token_file.default_audience(settings, env) == audience
    explicit = {**env, "GOOGLE_ID_TOKEN_AUDIENCE": "api://custom"}
    assert token_file.default_audience(token_file.id_token_settings(explicit), explicit) == "api://custom"


@pytest.mark.e2e
def test_the_foreground_keeper_stops_cleanly_on_sigterm(lab: Lab, tmp_path: Path) -> None:
    import signal

    path = tmp_path / "token"
    process = subprocess.Popen(
        [sys.executable, "-m", "shared", "token-file", str(path)],
        env={**_google_env(lab)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while not path.exists() and time.time() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert path.exists(), f"no token file (exit status {process.poll()})"
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "renewed" in stdout and path.read_text() not in stdout


def test_renewal_leaves_more_than_azure_identitys_re_read_interval() -> None:
    """azure-identity re-reads AZURE_FEDERATED_TOKEN_FILE only after 600 s (TokenFileMixin): a one-hour
    token is renewed 900 s before it expires, a short one half-way."""
    keeper = token_file.TokenFileKeeper("/nonexistent", token_file.id_token_settings({}), "aud")
    assert keeper.renew_at(expires_at=4600, issued_at=1000) == 4600 - 900
    assert keeper.renew_at(expires_at=1010, issued_at=1000) == 1005
