"""Both functions as the lab runs them: their settings, derived from the topology, and their processes.

:func:`cloud_function_settings` and :func:`function_app_settings` are the application
settings infra/ writes into the real Cloud Function and Function App, computed here from
the same topology the emulators serve. :class:`FunctionProcess` runs a function as its host
would: the Cloud Function under functions-framework, the Function App under
``lab/hosting/functions_host.py`` (Core Tools cannot be installed here), each on a loopback port,
with any Python (the dev venv, or a deployable bundle's own venv).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Protocol

from lab.core import processes
from lab.core.topology import Application, ManagedIdentity, Topology

ROOT = Path(__file__).resolve().parents[2]
HOST_SCRIPT = Path(__file__).resolve().parent / "functions_host.py"
CLOUD_FUNCTION_TARGET = "list_blobs"
FUNCTION_APP_ROUTE = "/api/bigquery"
_WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"


class RunningLab(Protocol):
    """What the functions need of a running lab: :class:`lab.core.runtime.Lab`, or the benchmarks' lab process."""

    @property
    def topology(self) -> Topology: ...

    @property
    def blob_account_url(self) -> str: ...

    def url(self, service: str) -> str: ...

    def sts_audience(self, provider_index: int = 0) -> str: ...

    def env(self) -> dict[str, str]: ...


def blob_reader_app(topology: Topology) -> Application:
    """The app registration whose federated credential trusts the Cloud Function's service account."""
    account = topology.service_account(topology.runtime.metadata_service_account)
    assert account is not None, "the runtime service account is not in the topology"
    return next(
        a
        for a in topology.applications
        if any(f.subject == account.unique_id for f in a.federated_identity_credentials)
    )


def function_app_identity(topology: Topology) -> ManagedIdentity:
    """The Function App's managed identity."""
    return next(
        m for m in topology.managed_identities if m.name == topology.runtime.app_service_managed_identity
    )


def cloud_function_settings(lab: RunningLab) -> dict[str, str]:
    """The Cloud Function's settings: the app registration that trusts its service account, the blobs."""
    topology = lab.topology
    account = topology.service_account(topology.runtime.metadata_service_account)
    assert account is not None, "the runtime service account is not in the topology"
    app = blob_reader_app(topology)
    container = topology.storage_containers[0]
    return {
        "AZURE_TENANT_ID": app.tenant_id,
        "AZURE_CLIENT_ID": app.client_id,
        "AZURE_STORAGE_ACCOUNT_URL": lab.blob_account_url,
        "AZURE_STORAGE_CONTAINER": container.name,
        "GOOGLE_CLOUD_PROJECT": account.project_id,
    }


def function_app_settings(lab: RunningLab) -> dict[str, str]:
    """The Function App's settings: the pool provider, the audience, the account it impersonates."""
    topology = lab.topology
    provider = topology.workload_identity_pool_providers[0]
    identity = function_app_identity(topology)
    return {
        "GCP_WORKLOAD_IDENTITY_PROVIDER": lab.sts_audience().removeprefix("//iam.googleapis.com/"),
        "AZURE_TOKEN_AUDIENCE": provider.allowed_audiences[0],
        "GCP_SERVICE_ACCOUNT": impersonated_account(topology, identity.principal_id),
        "BIGQUERY_PROJECT": provider.project_id,
        "BIGQUERY_API_ENDPOINT": lab.url("gcp.bigquery"),
    }


def impersonated_account(topology: Topology, principal_id: str) -> str:
    """The service account whose workloadIdentityUser members include the identity's principal://."""
    for binding in topology.iam_bindings:
        if binding.role == _WORKLOAD_IDENTITY_USER and any(
            m.endswith(f"/subject/{principal_id}") for m in binding.members
        ):
            return binding.resource.rsplit("/serviceAccounts/", 1)[1]
    raise LookupError(f"no service account lets {principal_id} impersonate it")


class FunctionProcess:
    """One function, served on loopback by its host in a child process. A context manager."""

    def __init__(
        self, command: list[str], env: Mapping[str, str], *, cwd: Path, port: int, path: str
    ) -> None:
        self.command = command
        self.env = dict(env)
        self.cwd = cwd
        self.port = port
        self.url = f"http://127.0.0.1:{port}{path}"
        self._process: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    @classmethod
    def cloud_function(
        cls, env: Mapping[str, str], *, source: Path = ROOT / "gcp_function", python: str = sys.executable
    ) -> FunctionProcess:
        """The Cloud Function under functions-framework, as Cloud Run's buildpack starts it."""
        port = processes.free_port()
        command = [
            python, "-m", "functions_framework", f"--target={CLOUD_FUNCTION_TARGET}",
            f"--source={source / 'main.py'}", "--host=127.0.0.1", f"--port={port}",
        ]  # fmt: skip
        return cls(command, env, cwd=source, port=port, path="/")

    @classmethod
    def function_app(
        cls, env: Mapping[str, str], *, app_dir: Path = ROOT / "azure_function", python: str = sys.executable
    ) -> FunctionProcess:
        """The Function App under the local host (``func start`` where Core Tools are installed)."""
        port = processes.free_port()
        command = [python, str(HOST_SCRIPT), str(app_dir), "--host=127.0.0.1", f"--port={port}"]
        return cls(command, env, cwd=app_dir, port=port, path=FUNCTION_APP_ROUTE)

    def start(self) -> FunctionProcess:
        """Start the function's process; a second start while it runs is refused (it would orphan the
        first: ``with FunctionProcess...`` already starts it)."""
        if self.running:
            raise RuntimeError(f"{self.url} is already running: start() once (``with`` starts it)")
        self._process = processes.spawn(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> FunctionProcess:
        """Block until the port accepts connections; raise with the output if the process died."""
        assert self._process is not None, "start() first"
        try:
            processes.wait_for_port(self._process, self.port, timeout_s)
        except processes.ProcessExited as exited:
            raise RuntimeError(f"{self.command[:3]} exited {exited.returncode}:\n{self.output}") from None
        except TimeoutError:
            raise TimeoutError(f"{self.url} not ready after {timeout_s}s:\n{self.output}") from None
        return self

    @property
    def running(self) -> bool:
        """Whether the function's process is running (started and not exited)."""
        return self._process is not None and self._process.poll() is None

    @property
    def output(self) -> str:
        """Everything the function wrote to stdout and stderr so far (its logs)."""
        return "".join(self._output)

    def log_lines(self) -> list[str]:
        return self.output.splitlines()

    def _drain(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._output.append(line)

    def stop(self) -> None:
        processes.stop(self._process)

    def __enter__(self) -> FunctionProcess:
        return self.start().wait_ready()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def process_env(lab: RunningLab, settings: Mapping[str, str], **extra: str) -> dict[str, str]:
    """A function process's environment: a bare base, the lab's endpoints, the function's settings.

    ``PYTHONPATH`` points at the repository so ``shared`` imports as it will from a bundle.
    """
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    return {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **base, **lab.env(), **settings, **extra}
