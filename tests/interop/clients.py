"""Run the third-party clients of the interop suite: Node scripts and the Azure CLI.

Each client runs in a process group of its own, with an environment built from scratch (the
lab's settings, a private HOME, and nothing of the developer's: no ADC file, no az profile), a
loopback guard preloaded (``node/loopback.cjs``, ``azure_cli/sitecustomize.py``) and a
timeout after which the whole group is killed.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.core.runtime import Lab

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NODE_DIR = HERE / "node"
AZ_GUARD_DIR = HERE / "azure_cli"
AZURE_CLI_VENV = REPO / ".venv-azure-cli"
REFUSED = re.compile(r"^LOOPBACK_REFUSED (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    """What a client printed, and whether it tried to leave loopback."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def refused(self) -> list[str]:
        return REFUSED.findall(self.stderr)

    def json(self) -> Any:
        assert self.returncode == 0, f"client failed ({self.returncode}): {self.stderr.strip()[-2000:]}"
        assert not self.refused, f"the client tried to leave loopback: {self.refused}"
        return json.loads(self.stdout.strip().splitlines()[-1])


def base_env(lab: Lab, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The lab's settings on a clean environment; ``home`` keeps the clients' caches per test."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **lab.env(),
        **(extra or {}),
    }


def run(command: list[str], env: Mapping[str, str], *, cwd: Path, timeout_s: float = 90) -> Run:
    """Run ``command`` in a new process group; on timeout the group is killed and the test fails."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"{command[:2]} did not finish within {timeout_s}s: {stderr[-2000:]}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return Run(process.returncode, stdout, stderr)


def node(lab: Lab, home: Path, script: str, *args: str, env: Mapping[str, str] | None = None) -> Run:
    """``node --require loopback.cjs <script> <args>``, trusting the lab's CA (NODE_EXTRA_CA_CERTS)."""
    binary = shutil.which("node")
    assert binary is not None, "node is not on PATH (the project needs Node 20, as for Azurite)"
    settings = base_env(lab, home, {"NODE_EXTRA_CA_CERTS": str(lab.ca_file), **(env or {})})
    return run([binary, "--require", str(NODE_DIR / "loopback.cjs"), script, *args], settings, cwd=NODE_DIR)


def az_binary() -> Path:
    binary = AZURE_CLI_VENV / "bin" / "az"
    assert binary.exists(), (
        f"the Azure CLI is not installed at {binary}: `make azure-cli` (part of `make test`)"
    )
    return binary


def _azure_cli_version() -> str:
    lock = (REPO / "tools" / "requirements-azure-cli.txt").read_text(encoding="utf-8")
    found = re.search(r"^azure-cli-core==(\S+)$", lock, re.MULTILINE)
    assert found is not None, "tools/requirements-azure-cli.txt pins no azure-cli-core"
    return found.group(1)


def _seed_azure_config(config_dir: Path) -> None:
    """On its first run in a config dir the CLI looks for a newer version of itself on
    azcliprod.blob.core.windows.net (azure/cli/core/util.py, handle_version_update); seed the
    file it writes after such a check (versionCheck.json), so that it does not."""
    marker = config_dir / "versionCheck.json"
    if marker.exists():
        return
    config_dir.mkdir(parents=True, exist_ok=True)
    version = _azure_cli_version()
    versions = {"azure-cli": {"local": version}, "core": {"local": version}}
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")
    marker.write_text(json.dumps({"versions": versions, "update_time": stamp}), encoding="utf-8")


def az(lab: Lab, home: Path, *args: str, env: Mapping[str, str] | None = None) -> Run:
    """``az <args>`` with an isolated AZURE_CONFIG_DIR under ``home``, telemetry off, the loopback guard."""
    _seed_azure_config(home / ".azure")
    settings = base_env(
        lab,
        home,
        {
            "AZURE_CONFIG_DIR": str(home / ".azure"),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
            "PYTHONPATH": str(AZ_GUARD_DIR),
            **(env or {}),
        },
    )
    return run([str(az_binary()), *args], settings, cwd=home)


def az_ok(run: Run) -> str:
    """``run``'s stdout, after checking that az stayed on loopback and exited 0."""
    assert not run.refused, f"az tried to leave loopback: {run.refused}"
    assert run.returncode == 0, run.stderr.strip()[-2000:]
    return run.stdout


def az_login_federated(lab: Lab, home: Path, *, client_id: str, tenant_id: str, federated_token: str) -> str:
    """The public tutorial's flow against the lab registered as a custom cloud: instance discovery
    off (MSAL needs it for a non-Microsoft authority host), ``az cloud register`` + ``set``, then
    ``az login --service-principal --federated-token``; returns the login's JSON output."""
    env = lab.env()
    az_ok(az(lab, home, "config", "set", "core.instance_discovery=false"))
    az_ok(
        az(
            lab, home,
            "cloud", "register", "--name", "FederationLab",
            "--endpoint-active-directory", env["LAB_ENTRA_URL"],
            "--endpoint-resource-manager", f"{env['LAB_ARM_URL']}/",
            "--endpoint-active-directory-resource-id", "https://management.core.windows.net/",
            "--skip-endpoint-discovery",
        )
    )  # fmt: skip
    az_ok(az(lab, home, "cloud", "set", "--name", "FederationLab"))
    return az_ok(
        az(
            lab, home,
            "login", "--service-principal",
            "--username", client_id,
            "--tenant", tenant_id,
            "--federated-token", federated_token,
            "--allow-no-subscriptions",
            "--output", "json",
        )
    )  # fmt: skip
