"""The real Blob service: Azurite, started over HTTPS with OAuth, in memory, seeded, stopped by PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from lab.core import processes
from lab.core.topology import StorageContainer
from shared.azure_credential import StaticTokenCredential

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"  # Azurite serves this account only


class AzuriteNotInstalled(RuntimeError):
    """``npm ci`` has not been run: ``make`` does it."""


def azurite_binary() -> Path:
    """``node_modules/.bin/azurite-blob`` from the committed lock file, or ``$LAB_AZURITE_BLOB``."""
    configured = os.environ.get("LAB_AZURITE_BLOB")
    candidate = Path(configured) if configured else REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if candidate.exists():
        return candidate
    found = shutil.which("azurite-blob")
    if found:
        return Path(found)
    raise AzuriteNotInstalled(f"Azurite is not installed at {candidate}: run `npm ci` (or `make setup`).")


class Azurite:
    """One Azurite blob process on a free loopback port."""

    def __init__(self, workdir: Path, cert: Path, key: Path) -> None:
        self.workdir = workdir
        self.cert = cert
        self.key = key
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def account_url(self) -> str:
        return f"{self.url}/{ACCOUNT}"

    def start(self, timeout_s: float = 20.0) -> None:
        self.port = processes.free_port()
        log = (self.workdir / "azurite.log").open("ab")
        command = [
            str(azurite_binary()),
            "--blobHost", "127.0.0.1",
            "--blobPort", str(self.port),
            "--oauth", "basic",
            "--cert", str(self.cert),
            "--key", str(self.key),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ]  # fmt: skip
        self._process = processes.spawn(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir,  # Azurite writes its debug and extent files relative to here
        )
        log.close()
        try:
            processes.wait_for_port(self._process, self.port, timeout_s)
        except processes.ProcessExited as exited:
            # The lab removes its work directory when it stops: quote the log, don't name it.
            raise RuntimeError(f"Azurite exited with {exited.returncode}:\n{self._log_tail()}") from None
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                f"Azurite did not listen on 127.0.0.1:{self.port} within {timeout_s}s:\n{self._log_tail()}"
            ) from None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.workdir / "azurite.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def seed(self, containers: list[StorageContainer], storage_token: str, ca_file: Path) -> None:
        """Create the topology's containers and blobs, authenticated with a lab-minted storage token."""
        from azure.storage.blob import BlobServiceClient, ContentSettings

        client = BlobServiceClient(
            self.account_url,
            credential=StaticTokenCredential(storage_token, int(time.time()) + 3000),
            connection_verify=str(ca_file),
            retry_total=2,
        )
        for container in containers:
            if container.storage_account_name != ACCOUNT:
                raise ValueError(
                    f"Azurite serves only the account {ACCOUNT}, not {container.storage_account_name}"
                )
            container_client = client.get_container_client(container.name)
            container_client.create_container()
            for blob in container.blobs:
                container_client.upload_blob(
                    blob.name,
                    blob.content.encode(),
                    content_settings=ContentSettings(content_type=blob.content_type),
                    overwrite=True,
                )
        client.close()

    def stop(self) -> None:
        processes.stop(self._process)
