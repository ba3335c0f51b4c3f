"""The lab's own controls: faults, counters, clock, lifetimes, admin route, CLI, loopback guard."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

from lab.core import topology
from lab.core.runtime import Lab
from lab.hosting import profiles
from tests.support.loopback import NonLoopbackRefused, forget_refused, refused_hosts

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[1]


def metadata_identity(timeout: float = 5) -> requests.Response:
    return requests.get(
        f"http://{os.environ['GCE_METADATA_HOST']}/computeMetadata/v1/instance/service-accounts/default/identity",
        params={"audience": "api://AzureADTokenExchange"},
        headers={"Metadata-Flavor": "Google"},
        timeout=timeout,
    )


# -- faults -----------------------------------------------------------------------------------


def test_scripted_failures_come_in_order_then_the_hop_recovers(lab: Lab) -> None:
    lab.controls.set_fault("gcp.metadata.identity", script=["429", "500", "503"])
    statuses = [metadata_identity().status_code for _ in range(4)]
    assert statuses == [429, 500, 503, 200]
    assert lab.counts()["gcp.metadata.identity"] == 4


def test_injected_errors_use_the_service_error_shape(lab: Lab) -> None:
    lab.controls.set_fault("gcp.sts", script=["503"])
    response = requests.post(os.environ["LAB_STS_URL"], data={}, timeout=5)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert set(response.json()) == {"error", "error_description"}

    lab.controls.set_fault("entra.token", script=["429"])
    tenant = os.environ["AZURE_TENANT_ID"]
    response = requests.post(f"{os.environ['AZURE_AUTHORITY_HOST']}/{tenant}/oauth2/v2.0/token", timeout=5)
    assert response.status_code == 429
    assert response.json()["error_description"].startswith("AADSTS")


def test_reset_drops_the_connection(lab: Lab) -> None:
    lab.controls.set_fault("gcp.metadata.identity", script=["reset"])
    with pytest.raises(requests.ConnectionError):
        metadata_identity()
    assert metadata_identity().status_code == 200


def test_hang_outlasts_the_client_timeout(lab: Lab) -> None:
    lab.controls.set_fault("gcp.metadata.identity", script=["hang"], hang_s=5)
    with pytest.raises(requests.Timeout):
        metadata_identity(timeout=0.3)
    assert metadata_identity().status_code == 200


def test_prefix_fault_covers_every_hop_under_it_and_down_means_503(lab: Lab) -> None:
    lab.controls.set_fault("gcp.metadata", down_for_s=30)
    assert metadata_identity().status_code == 503
    ping = requests.get(f"http://{os.environ['GCE_METADATA_HOST']}/", timeout=5)
    assert ping.status_code == 503
    lab.controls.clear_faults()
    assert metadata_identity().status_code == 200


def test_latency_is_added_to_the_hop(lab: Lab) -> None:
    lab.controls.set_fault("gcp.metadata.identity", latency_s=0.2)
    started = time.monotonic()
    assert metadata_identity().status_code == 200
    assert time.monotonic() - started >= 0.2  # a lower bound: it cannot flake on a slow machine


def test_failure_rate_fails_some_requests_and_not_others(lab: Lab) -> None:
    lab.controls.set_fault("gcp.metadata.identity", failure_rate=0.5, failure_kinds=("503",))
    statuses = {metadata_identity().status_code for _ in range(40)}
    assert statuses == {200, 503}


def test_unknown_fault_kind_is_refused(lab: Lab) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        lab.controls.set_fault("gcp.sts", script=["418"])  # type: ignore[list-item]


# -- clock and lifetimes ----------------------------------------------------------------------


def test_token_lifetime_and_clock_skew_shape_minted_tokens(lab: Lab) -> None:
    lab.controls.token_lifetime_s = 60
    lab.controls.clock_skew_s = 240
    claims = jwt.decode(metadata_identity().text, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    assert abs(claims["iat"] - (time.time() + 240)) < 30


def test_every_minted_token_is_remembered(lab: Lab) -> None:
    token = metadata_identity().text
    assert token in lab.minted()


def test_tokens_verify_against_the_published_keys(lab: Lab) -> None:
    token = metadata_identity().text
    keys = requests.get(f"{os.environ['LAB_GOOGLE_ACCOUNTS_URL']}/oauth2/v3/certs", timeout=5).json()
    client = jwt.PyJWKSet.from_dict(keys)
    key = client[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key=key.key, algorithms=["RS256"], audience="api://AzureADTokenExchange")
    assert claims["iss"] == "https://accounts.google.com"

    tenant = os.environ["AZURE_TENANT_ID"]
    discovery = requests.get(
        f"{os.environ['AZURE_AUTHORITY_HOST']}/{tenant}/v2.0/.well-known/openid-configuration", timeout=5
    ).json()
    assert discovery["issuer"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert requests.get(discovery["jwks_uri"], timeout=5).json()["keys"]


# -- admin route ------------------------------------------------------------------------------


def test_admin_route_drives_faults_clock_and_counters(lab: Lab) -> None:
    admin = os.environ["LAB_ADMIN_URL"]
    assert requests.post(
        f"{admin}/faults", json={"hop": "gcp.metadata.identity", "script": ["500"]}, timeout=5
    ).ok
    assert metadata_identity().status_code == 500
    assert requests.get(f"{admin}/counters", timeout=5).json()["gcp.metadata.identity"] == 1
    assert requests.post(f"{admin}/tokens", json={"lifetime_s": 90}, timeout=5).json() == {"lifetime_s": 90}
    claims = jwt.decode(metadata_identity().text, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 90
    assert requests.post(f"{admin}/faults", json={"script": ["500"]}, timeout=5).status_code == 400
    assert (
        requests.post(f"{admin}/faults", json={"hop": "x", "script": ["nope"]}, timeout=5).status_code == 400
    )
    # A hop name with a typo is refused and named, not accepted to never fire; prefixes and '*' are hops.
    typo = requests.post(f"{admin}/faults", json={"hop": "entra.tokn", "script": ["503"]}, timeout=5)
    assert typo.status_code == 400
    assert "'entra.tokn'" in typo.json()["error"]["message"]
    assert "entra.token" in typo.json()["error"]["message"]
    for hop in ("gcp.iam", "*", "azure.blob"):
        assert requests.post(f"{admin}/faults", json={"hop": hop, "latency_s": 0}, timeout=5).ok, hop
    assert requests.post(f"{admin}/reset", timeout=5).ok
    assert requests.get(f"{admin}/counters", timeout=5).json() == {}
    assert set(requests.get(f"{admin}/endpoints", timeout=5).json()) >= {"entra", "gcp.sts", "azure.blob"}


# -- topology ---------------------------------------------------------------------------------


def test_default_topology_cross_references_resolve() -> None:
    world = topology.load()
    assert world.service_account(world.runtime.metadata_service_account) is not None
    assert world.managed_identity(name=world.runtime.app_service_managed_identity) is not None
    usa_names = next(d for d in world.bigquery_datasets if d.dataset_id == "usa_names")
    assert len(usa_names.tables[0].rows) > 100


def test_broken_topology_is_refused_at_load(tmp_path: Path) -> None:
    text = topology.DEFAULT_TOPOLOGY.read_text().replace(
        'metadata_service_account = "blob-reader-fn@', 'metadata_service_account = "typo@'
    )
    (tmp_path / "data").symlink_to(topology.DEFAULT_TOPOLOGY.parent / "data")
    broken = tmp_path / "topology.toml"
    broken.write_text(text)
    with pytest.raises(topology.TopologyError, match="metadata_service_account"):
        topology.load(broken)


# -- python -m lab ----------------------------------------------------------------------------


def test_python_m_lab_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env_file = tmp_path / "lab.env"
    env_dir = tmp_path / "settings"
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--json", "--env-file", str(env_file), "--env-dir", str(env_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        env = ready["env"]
        ping = requests.get(f"http://{env['GCE_METADATA_HOST']}/", timeout=5)
        assert ping.headers["Metadata-Flavor"] == "Google"
        blob_port = int(ready["endpoints"]["azure.blob"].rsplit(":", 1)[1])
        assert "export IDENTITY_ENDPOINT=" in env_file.read_text()
        assert ready["profiles"]["azure-to-google"]["AZURE_CREDENTIAL_SOURCE"] == "client_secret"
        written = {p.name for p in env_dir.iterdir()}
        assert {"azure-function.env", "cloud-function.env", "local.settings.json"} <= written
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert not env_dir.exists(), "the lab removes the settings it handed out when it stops"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", blob_port), timeout=1).close()


def azurites_started_by(pid: int) -> list[int]:
    """The Azurite processes whose parent is ``pid`` (Linux: read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # it exited meanwhile
        if parent == pid and b"azurite-blob" in command:
            found.append(int(stat.parent.name))
    return found


def test_python_m_lab_leaves_no_azurite_behind() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "--json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        json.loads(process.stdout.readline())  # ready
        azurites = azurites_started_by(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert len(azurites) == 1, azurites  # one lab, one Azurite
    left = [pid for pid in azurites if Path(f"/proc/{pid}").exists()]
    assert not left, f"Azurite {left} outlived python -m lab"


def test_a_lab_starts_once() -> None:
    with Lab(with_azurite=False) as lab, pytest.raises(RuntimeError, match="already running"):
        lab.start()


# -- the loopback guard -----------------------------------------------------------------------


def test_suite_refuses_to_resolve_anything_but_loopback() -> None:
    with pytest.raises(NonLoopbackRefused):
        socket.getaddrinfo("login.microsoftonline.com", 443)
    assert refused_hosts() == ["login.microsoftonline.com"]
    forget_refused()


@pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")
def test_suite_refuses_to_connect_anywhere_but_loopback() -> None:
    from pytest_socket import SocketConnectBlockedError

    with socket.socket() as sock, pytest.raises(SocketConnectBlockedError):
        sock.connect(("192.0.2.1", 443))  # an address, so no name resolution is involved


def test_google_auth_regional_access_boundary_lookup_never_leaves(lab: Lab) -> None:
    """With the default universe google-auth starts a background lookup to
    iamcredentials.googleapis.com; the guard catches it before any packet leaves."""
    from azure.identity import ManagedIdentityCredential
    from google.auth import identity_pool
    from google.auth.transport.requests import AuthorizedSession

    from tests.support.federation import AUDIENCE_APP
    from tests.test_fidelity import SUBJECT_JWT, AzureSubjectTokenSupplier

    credentials = identity_pool.Credentials(
        audience=lab.sts_audience(),
        subject_token_type=SUBJECT_JWT,
        token_url=os.environ["LAB_STS_URL"],
        subject_token_supplier=AzureSubjectTokenSupplier(
            ManagedIdentityCredential(), f"{AUDIENCE_APP}/.default"
        ),
        scopes=["https://www.googleapis.com/auth/cloud-platform"],
    )
    session = AuthorizedSession(credentials)
    session.get(f"{lab.url('gcp.bigquery')}/bigquery/v2/projects/fedlab-analytics/jobs/none", timeout=5)
    deadline = time.monotonic() + 5
    while not refused_hosts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(refused_hosts()) == {"iamcredentials.googleapis.com"}
    forget_refused()


# -- the local Functions host reads local.settings.json as func start does ----------------------


def test_local_host_reads_local_settings_without_overriding_the_environment(tmp_path: Path) -> None:
    from lab.hosting.functions_host import load_local_settings

    (tmp_path / "local.settings.json").write_text(
        json.dumps(
            {"IsEncrypted": False, "Values": {"BIGQUERY_PROJECT": "from-file", "BIGQUERY_LOCATION": "EU"}}
        )
    )
    environ = {"BIGQUERY_PROJECT": "from-environment"}

    skipped = load_local_settings(tmp_path, environ)

    assert environ == {"BIGQUERY_PROJECT": "from-environment", "BIGQUERY_LOCATION": "EU"}
    assert skipped == ["BIGQUERY_PROJECT"]
    assert load_local_settings(tmp_path / "missing", environ) == []


# -- the settings the lab hands out, per role ---------------------------------------------------

ROLES = ("azure-function", "cloud-function", "azure-to-google", "google-to-azure")


def _terraform_map(attribute: str) -> set[str]:
    """The keys of ``attribute = { ... }`` in infra/main.tf: the settings Terraform writes."""
    block = re.search(attribute + r" = \{(.*?)\}", (REPO / "infra" / "main.tf").read_text(), re.S)
    assert block, attribute
    return set(re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*=", block[1], re.M))


def test_each_role_gets_the_names_terraform_writes(lab: Lab, tmp_path: Path) -> None:
    roles = {p.name: p for p in profiles.write(lab, tmp_path)}

    assert set(roles) == set(ROLES)
    assert set(roles["azure-function"].groups[0].values) == _terraform_map("app_settings")
    assert set(roles["cloud-function"].groups[0].values) == _terraform_map("environment")
    assert "infra/main.tf" in roles["azure-function"].groups[0].source
    settings = json.loads((tmp_path / "local.settings.json").read_text())["Values"]
    assert roles["azure-function"].env.items() <= settings.items()


@pytest.mark.parametrize("role", ROLES)
def test_a_sourced_role_file_sets_its_settings_and_unsets_the_other_roles(
    lab: Lab, tmp_path: Path, role: str
) -> None:
    roles = {p.name: p for p in profiles.write(lab, tmp_path)}
    others = {n: "stale" for p in roles.values() for n in p.env if n not in roles[role].env}
    script = f". {tmp_path / (role + '.env')} && env -0"

    shown = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": os.environ["PATH"], **others},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = dict(line.split("=", 1) for line in shown.split("\0") if "=" in line)

    assert {k: env.get(k) for k in roles[role].env} == roles[role].env
    assert not set(others) & set(env), "a variable of another role survived"
    assert (tmp_path / (role + ".env")).stat().st_mode & 0o077 == 0, "owner-only: it holds per-run secrets"


def test_settings_are_removed_only_by_the_lab_that_wrote_them_last(lab: Lab, tmp_path: Path) -> None:
    profiles.write(lab, tmp_path)
    (tmp_path / profiles.OWNER).write_text("1\n")  # a lab started later took the files over

    profiles.remove(tmp_path)
    assert (tmp_path / "azure-to-google.env").exists()

    (tmp_path / profiles.OWNER).write_text(f"{os.getpid()}\n")
    profiles.remove(tmp_path)
    assert not tmp_path.exists()


def test_the_laptop_roles_pass_doctor_against_the_lab(lab: Lab, tmp_path: Path) -> None:
    """What the README's make doctor-* does: each laptop role alone, in a fresh process."""
    profiles.write(lab, tmp_path)
    for direction in ("azure-to-google", "google-to-azure"):
        result = subprocess.run(
            ["/bin/sh", "-c", f". {tmp_path / (direction + '.env')} && {sys.executable} -m shared doctor {direction}"],
            env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")},
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "every hop is healthy" in result.stdout


def test_make_doctor_names_settings_left_by_a_lab_that_died(tmp_path: Path) -> None:
    """A lab killed without its cleanup (SIGKILL, a crash) leaves .lab/ behind: make says so, doctor never runs.

    Before, doctor ran on the stale settings and every hop failed with "connection refused" and a fix
    about the clouds' settings (for azure.msi: "enable the identity").
    """
    (tmp_path / "azure-to-google.env").write_text("export GCP_WORKLOAD_IDENTITY_PROVIDER=stale\n")
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    (tmp_path / profiles.OWNER).write_text(f"{gone.pid}\n")
    result = subprocess.run(
        [shutil.which("make") or "make", "--no-print-directory", "doctor-azure-to-google", f"LAB_DIR={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no lab running" in result.stderr and "stopped without cleaning up" in result.stderr, result.stderr
    assert "doctor:" not in result.stdout, "doctor ran on a dead lab's settings"
