"""Start and stop the whole lab: TLS, keys, every emulator, Azurite and the admin route."""

from __future__ import annotations

import dataclasses
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme

from lab.azure import aks, arm, blob_gateway, entra, managed_identity
from lab.azure.azurite import Azurite
from lab.core import admin, processes, topology
from lab.core.controls import Controls
from lab.core.keys import Keys
from lab.core.service import Service
from lab.core.topology import Topology
from lab.core.trace import ServedHop
from lab.gcp import bigquery, iam, metadata, oauth2, sts

LAB_UNIVERSE = "lab.internal"  # the Google universe domain the lab's clients use
AKS_CLUSTER_ID = "7c4f9d2e-5b1a-4e8f-9a3d-2f6b8c1e0d47"  # made up: the lab cluster's issuer path


class Lab:
    """The offline federation: both clouds' identity services, BigQuery and Blob Storage on loopback.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``controls`` drives
    faults, the clock and token lifetimes; :meth:`env` gives the settings that point the
    official SDKs at the lab.
    """

    def __init__(
        self,
        topology_source: Topology | str | Path | None = None,
        *,
        workdir: Path | None = None,
        with_azurite: bool = True,
        seed: int = 0,
    ) -> None:
        if isinstance(topology_source, Topology):
            self._topology = topology_source
        else:
            self._topology = topology.load(topology_source or topology.DEFAULT_TOPOLOGY)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="fedlab-"))
        self.with_azurite = with_azurite
        self.controls = Controls(seed=seed)
        self.keys = Keys()
        self._lock = threading.Lock()
        self.entra = entra.Entra(self.controls, self.keys, self.topology_now)
        self.service_account_keys = oauth2.ServiceAccountKeys(self.keys)
        self.services: dict[str, Service] = {}
        self.azurite: Azurite | None = None
        self._admin: Service | None = None
        self.ca_file = self.workdir / "ca.pem"
        # The AKS cluster's issuer (lab.azure.aks): a fixed cluster in the first tenant.
        self.aks_issuer = aks.issuer_url(self._topology.tenants[0].tenant_id, AKS_CLUSTER_ID)

    # -- topology -------------------------------------------------------------------------
    @property
    def topology(self) -> Topology:
        return self._topology

    def topology_now(self) -> Topology:
        with self._lock:
            return self._topology

    def set_topology(self, new: Topology) -> None:
        """Swap the world the emulators see (containers and blobs are seeded at start only)."""
        with self._lock:
            self._topology = new

    def break_topology(self, **changes: Any) -> Topology:
        """Replace some top-level fields (see :meth:`Topology.evolve`); returns the previous topology."""
        previous = self.topology_now()
        self.set_topology(previous.evolve(**changes))
        return previous

    def edit_federated_credential(self, client_id: str, **changes: Any) -> Topology:
        """Change the first federated identity credential of app ``client_id``; returns the previous topology."""
        applications = []
        for app in self.topology_now().applications:
            if app.client_id == client_id:
                fic = dataclasses.replace(app.federated_identity_credentials[0], **changes)
                app = dataclasses.replace(app, federated_identity_credentials=(fic,))
            applications.append(app)
        return self.break_topology(applications=applications)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Lab:
        """Start every emulator and Azurite, once: a second start would orphan the first's processes."""
        if self.services or self._admin is not None:
            raise RuntimeError("this lab is already running: start it once (`with Lab() as lab` starts it)")
        tls = self._make_tls()
        source: Callable[[], Topology] = self.topology_now
        https = {
            "entra": entra.create_login(self.entra),
            "azure.arm": arm.create(self.controls, self.keys, source),
            "gcp.accounts": metadata.create_accounts(self.controls, self.keys),
            "gcp.sts": sts.create(self.controls, self.keys, source),
            "gcp.iam": iam.create(self.controls, self.keys, source),
            "gcp.bigquery": bigquery.create(self.controls, self.keys, source),
            "gcp.oauth2": oauth2.create(self.controls, self.keys, self.service_account_keys, source),
            "azure.aks_issuer": aks.create_issuer(self.controls, self.keys, self.aks_issuer),
        }
        plain = {
            "azure.msi": managed_identity.create(self.entra),
            "gcp.metadata": metadata.create_metadata(self.controls, self.keys, source),
        }
        try:
            for name, service in https.items():
                service.start(tls)
                self.services[name] = service
            for name, service in plain.items():
                service.start(None)
                self.services[name] = service
            if self.with_azurite:
                self._start_blob(tls)
            self._admin = admin.create(self)
            self._admin.start(None)
        except BaseException:
            self.stop()
            raise
        return self

    def _make_tls(self) -> ssl.SSLContext:
        ca = trustme.CA(organization_name="Federation lab")
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.private_key_pem.write_to_path(str(self.workdir / "server-key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(self.workdir / "server.pem"))
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(str(self.workdir / "server.pem"), append=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        return context

    def _start_blob(self, tls: ssl.SSLContext) -> None:
        self.azurite = Azurite(self.workdir, self.workdir / "server.pem", self.workdir / "server-key.pem")
        self.azurite.start()
        seeding = self.entra.resolve_resource(self.topology.tenants[0].tenant_id, "https://storage.azure.com")
        assert seeding is not None
        token, _ = self.entra.mint_access_token(
            tenant_id=self.topology.tenants[0].tenant_id,
            resource=seeding,
            client_app_id="lab-seeder",
            object_id="lab-seeder",
            acr="2",
        )
        self.azurite.seed(self.topology.storage_containers, token, self.ca_file)
        gateway = blob_gateway.create(
            self.controls, self.keys, self.topology_now, self.azurite.url, self.ca_file
        )
        gateway.start(tls)
        self.services["azure.blob"] = gateway

    def stop(self) -> None:
        """Stop every server and Azurite; remove the work directory if the lab made it."""
        with processes.uninterrupted():  # a second Ctrl-C must not leave Azurite behind
            self.controls.stopping.set()
            servers = [*self.services.values(), *([self._admin] if self._admin else [])]
            stoppers = [threading.Thread(target=service.stop) for service in servers]
            for stopper in stoppers:  # in parallel: each waits for its in-flight requests
                stopper.start()
            if self.azurite is not None:
                self.azurite.stop()
            for stopper in stoppers:
                stopper.join()
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need ----------------------------------------------------------------
    def url(self, service: str) -> str:
        return self.services[service].url

    @property
    def admin_url(self) -> str:
        assert self._admin is not None
        return self._admin.url

    @property
    def blob_account_url(self) -> str:
        return f"{self.url('azure.blob')}/devstoreaccount1"

    def sts_audience(self, provider_index: int = 0) -> str:
        provider = self.topology.workload_identity_pool_providers[provider_index]
        project = self.topology.project(provider.project_id)
        assert project is not None
        return (
            f"//iam.googleapis.com/projects/{project.number}/locations/global/workloadIdentityPools/"
            f"{provider.workload_identity_pool_id}/providers/{provider.workload_identity_pool_provider_id}"
        )

    def impersonation_url(self, service_account_email: str) -> str:
        return (
            f"{self.url('gcp.iam')}/v1/projects/-/serviceAccounts/{service_account_email}:generateAccessToken"
        )

    def client_secret(self, client_id: str) -> str:
        """The per-run secret of an app registration with ``password = true``."""
        app = next((a for a in self.topology.applications if a.client_id == client_id), None)
        if app is None or not app.password:
            raise KeyError(f"application {client_id} has no password in the topology")
        return self.entra.client_secret(client_id)

    def service_account_key_file(self, email: str, path: Path) -> Path:
        """Write a key file for a topology service account; its ``token_uri`` is the lab's."""
        account = self.topology_now().service_account(email)
        if account is None:
            raise KeyError(f"no service account {email} in the topology")
        token_uri = f"{self.url('gcp.oauth2')}/token"
        written: Path = self.service_account_keys.key_file(account.email, path, token_uri, account.project_id)
        return written

    def counts(self) -> dict[str, int]:
        return self.controls.counts()

    def trace(self) -> list[ServedHop]:
        """Every request the emulators served since the counters were last reset (no tokens)."""
        return self.controls.trace.records()

    def minted(self) -> list[str]:
        """Every token and secret the lab has handed out (for leak checks)."""
        return self.keys.minted()

    def reset(self) -> None:
        """Healthy again: no faults, no skew, default lifetimes, counters at zero."""
        self.controls.reset()

    def env(self) -> dict[str, str]:
        """Environment variables that point the official SDKs (and this project) at the lab."""
        metadata_host = self.services["gcp.metadata"].url.removeprefix("http://")
        msi = self.url("azure.msi")
        tenant = self.topology.tenants[0].tenant_id
        project = self.topology.service_account(self.topology.runtime.metadata_service_account)
        env = {
            # TLS: trust the lab's CA (requests, azure-core, google-auth, urllib3).
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "SSL_CERT_FILE": str(self.ca_file),
            "CURL_CA_BUNDLE": str(self.ca_file),
            # Google side: the metadata server (read at import by google-auth) and the project.
            "GCE_METADATA_HOST": metadata_host,
            "GCE_METADATA_IP": metadata_host,
            "GOOGLE_CLOUD_PROJECT": project.project_id if project else "",
            # Azure side: App Service managed identity, IMDS host, Entra authority.
            "IDENTITY_ENDPOINT": f"{msi}/msi/token",
            "IDENTITY_HEADER": self.entra.identity_header,
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": msi,
            "AZURE_AUTHORITY_HOST": self.url("entra"),
            "AZURE_TENANT_ID": tenant,
            # This project's settings for the Google endpoints (shared/settings.py). Any universe
            # but googleapis.com keeps google-auth's Regional Access Boundary lookup from starting.
            "GOOGLE_CLOUD_UNIVERSE_DOMAIN": LAB_UNIVERSE,
            "GOOGLE_STS_TOKEN_URL": f"{self.url('gcp.sts')}/v1/token",
            "GOOGLE_IAM_CREDENTIALS_URL": self.url("gcp.iam"),
            # The lab's own endpoints, for settings that have no SDK variable.
            "LAB_ADMIN_URL": self.admin_url,
            "LAB_CA_FILE": str(self.ca_file),
            "LAB_STS_URL": f"{self.url('gcp.sts')}/v1/token",
            "LAB_IAM_URL": self.url("gcp.iam"),
            "LAB_BIGQUERY_URL": self.url("gcp.bigquery"),
            "LAB_GOOGLE_ACCOUNTS_URL": self.url("gcp.accounts"),
            "LAB_ENTRA_URL": self.url("entra"),
            "LAB_ARM_URL": self.url("azure.arm"),
            "LAB_GOOGLE_OAUTH2_URL": self.url("gcp.oauth2"),
        }
        if "azure.blob" in self.services:
            env["LAB_BLOB_ACCOUNT_URL"] = self.blob_account_url
        return env
