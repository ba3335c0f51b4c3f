"""The lab in a process of its own, so its CPU (signing, CEL, DuckDB) never competes with the
client being measured for the GIL, as a real cloud's would not. Driven over the admin route."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from lab.core import processes, topology
from lab.core.runtime import Lab
from lab.core.topology import Topology


class LabProcess:
    """``python -m lab --json`` as a child; offers what the benchmarks use of :class:`lab.core.runtime.Lab`."""

    def __init__(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self.topology: Topology = topology.load(topology.DEFAULT_TOPOLOGY)
        self._process: subprocess.Popen[str] | None = None
        self._endpoints: dict[str, str] = {}
        self._env: dict[str, str] = {}

    def __enter__(self) -> LabProcess:
        command = [sys.executable, "-m", "lab", "--json", f"--latency-ms={self.latency_ms}"]
        self._process = processes.spawn(
            command,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # interpreter-exit noise of native extensions
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the lab did not start (python -m lab exited)")
        started = json.loads(line)
        self._endpoints, self._env = started["endpoints"], started["env"]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        processes.stop(self._process)

    # -- what Lab offers, over the admin route ----------------------------------------------
    def env(self) -> dict[str, str]:
        return dict(self._env)

    def url(self, service: str) -> str:
        return self._endpoints[service]

    @property
    def blob_account_url(self) -> str:
        return f"{self.url('azure.blob')}/devstoreaccount1"

    def sts_audience(self, provider_index: int = 0) -> str:
        return Lab.sts_audience(self, provider_index)  # type: ignore[arg-type]

    def impersonation_url(self, service_account_email: str) -> str:
        return Lab.impersonation_url(self, service_account_email)  # type: ignore[arg-type]

    def counts(self) -> dict[str, int]:
        return dict(self._admin("GET", "/counters"))

    def reset_counts(self) -> None:
        self._admin("POST", "/counters/reset")

    def set_token_lifetime(self, seconds: int) -> None:
        self._admin("POST", "/tokens", {"lifetime_s": seconds})

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, self._env["LAB_ADMIN_URL"] + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()
