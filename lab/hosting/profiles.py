"""The settings a running lab hands out, per role: what each place that runs this code must set.

Four profiles, each a list of groups that say where the values come from in the clouds:

``azure-function``   the Function App's application settings (the names infra/main.tf writes into
                     ``module.azure_function``'s ``app_settings``), what the Functions platform sets
                     (its managed identity endpoint), and the lab's endpoints; also as
                     ``local.settings.json``, the file ``func start`` and ``lab/hosting/functions_host.py`` read.
``cloud-function``   the Cloud Function's environment (``module.cloud_function``'s ``environment``),
                     the metadata server the platform provides, and the lab's endpoints.
``azure-to-google``  your laptop calling Google from Azure credentials: the Azure Function's settings
                     with an app registration's client secret as the Azure identity.
``google-to-azure``  your laptop calling Azure from Google credentials: the Cloud Function's settings
                     with your ADC impersonating the function's service account for its ID tokens.

One shell holds one profile: ``AZURE_CLIENT_ID`` is the Azure identity in ``azure-to-google``
(azure-identity's meaning) and the app registration with the federated credential in
``google-to-azure``. :func:`write` puts every profile in a directory (``.lab/`` by default, see
``python -m lab``) as ``export`` lines that sh, bash and zsh can source.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings

ROOT = Path(__file__).resolve().parents[2]
ENV_DIR = ROOT / ".lab"  # the fixed place a running lab keeps its settings for other shells
LOCAL_SETTINGS = "local.settings.json"
DEVELOPER_ADC = "local-developer-adc.json"
OWNER = "lab.pid"  # the process whose settings these are: a second lab takes the files over


@dataclass(frozen=True)
class Group:
    """Variables that come from one place (Terraform, the platform, the lab), with that place named."""

    source: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class Profile:
    """The settings of one role, in groups; ``env`` merges them."""

    name: str
    title: str
    groups: tuple[Group, ...]

    @property
    def env(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for group in self.groups:
            merged.update(group.values)
        return merged

    @property
    def file_name(self) -> str:
        return f"{self.name}.env"

    def shell(self, others: Iterable[str] = ()) -> str:
        """``export`` lines, each group under a comment naming where its values come from.

        ``others`` (the variables of the other roles) are unset first, so that loading this
        profile in a shell that held another leaves no stray setting (``AZURE_CLIENT_SECRET``
        under a Google -> Azure profile, say).
        """
        lines = [f"# {self.title}"]
        stray = sorted(set(others) - set(self.env))
        if stray:
            lines.append("unset " + " ".join(stray))
        for group in self.groups:
            lines.append(f"# -- {group.source}")
            lines += [f"export {name}={shlex.quote(value)}" for name, value in group.values.items()]
        return "\n".join(lines) + "\n"


def _pick(values: Mapping[str, str], *names: str) -> dict[str, str]:
    return {name: values[name] for name in names}


_TLS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")
_GOOGLE_ENDPOINTS = ("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "GOOGLE_STS_TOKEN_URL", "GOOGLE_IAM_CREDENTIALS_URL")
_LAB_ONLY = "the lab only: its endpoints and CA (leave these unset in the cloud)"


def profiles(lab: Lab, directory: Path, *, function_key: str) -> list[Profile]:
    """Every role's profile for ``lab``; files a profile points at (a key file) go in ``directory``."""
    topology = lab.topology
    app_settings = function_app_settings(lab)
    bigquery_endpoint = app_settings.pop("BIGQUERY_API_ENDPOINT")
    cloud_env = cloud_function_settings(lab) if "azure.blob" in lab.services else _without_blob(lab)
    env = lab.env()

    developer_app = next(a for a in topology.applications if a.password)
    developer_account = next(
        s
        for s in topology.service_accounts
        if s.email != topology.runtime.metadata_service_account
        and any(
            b.role == "roles/iam.serviceAccountTokenCreator" and f"serviceAccount:{s.email}" in b.members
            for b in topology.iam_bindings
        )
    )
    adc_file = directory / DEVELOPER_ADC
    lab.service_account_key_file(developer_account.email, adc_file)

    azure_function = Profile(
        "azure-function",
        "The Azure Function's environment (Function App, Python v2 model)",
        (
            Group(
                "application settings Terraform writes (infra/main.tf: module.azure_function app_settings)",
                {**app_settings, "BIGQUERY_LOCATION": "US"},
            ),
            Group(
                "set by the Functions platform: the app's system-assigned managed identity",
                {"IDENTITY_ENDPOINT": env["IDENTITY_ENDPOINT"], "IDENTITY_HEADER": env["IDENTITY_HEADER"]},
            ),
            Group(
                _LAB_ONLY + "; LOCAL_FUNCTION_KEY is the local host's function key",
                {
                    "BIGQUERY_API_ENDPOINT": bigquery_endpoint,
                    **_pick(env, *_GOOGLE_ENDPOINTS, *_TLS),
                    "LOCAL_FUNCTION_KEY": function_key,
                },
            ),
        ),
    )
    cloud_function = Profile(
        "cloud-function",
        "The Cloud Function's environment (Cloud Functions gen2 / Cloud Run)",
        (
            Group(
                "environment Terraform writes (infra/main.tf: module.cloud_function environment)",
                cloud_env,
            ),
            Group(
                "set by the platform: the metadata server (google-auth reads GCE_METADATA_HOST when imported)",
                {"GCE_METADATA_HOST": env["GCE_METADATA_HOST"], "GCE_METADATA_IP": env["GCE_METADATA_IP"]},
            ),
            Group(_LAB_ONLY, {**_pick(env, "AZURE_AUTHORITY_HOST", *_TLS)}),
        ),
    )
    azure_to_google = Profile(
        "azure-to-google",
        "Your laptop, Azure -> Google: shared.google_credentials() and doctor azure-to-google",
        (
            Group(
                "the federation's settings (the Azure Function's names)",
                _pick(
                    app_settings,
                    "GCP_WORKLOAD_IDENTITY_PROVIDER",
                    "AZURE_TOKEN_AUDIENCE",
                    "GCP_SERVICE_ACCOUNT",
                    "BIGQUERY_PROJECT",
                ),
            ),
            Group(
                "your Azure identity: an app registration's client secret "
                "(AZURE_CREDENTIAL_SOURCE=default uses your az login instead)",
                {
                    "AZURE_CREDENTIAL_SOURCE": "client_secret",
                    "AZURE_TENANT_ID": developer_app.tenant_id,
                    "AZURE_CLIENT_ID": developer_app.client_id,
                    "AZURE_CLIENT_SECRET": lab.client_secret(developer_app.client_id),
                },
            ),
            Group(
                _LAB_ONLY,
                {
                    "BIGQUERY_API_ENDPOINT": bigquery_endpoint,
                    **_pick(env, "AZURE_AUTHORITY_HOST", *_GOOGLE_ENDPOINTS, *_TLS),
                },
            ),
        ),
    )
    google_to_azure = Profile(
        "google-to-azure",
        "Your laptop, Google -> Azure: shared.GoogleFederatedCredential() and doctor google-to-azure",
        (
            Group(
                "the federation's settings (the Cloud Function's names)",
                _pick(
                    cloud_env,
                    "AZURE_TENANT_ID",
                    "AZURE_CLIENT_ID",
                    "AZURE_STORAGE_ACCOUNT_URL",
                    "AZURE_STORAGE_CONTAINER",
                ),
            ),
            Group(
                "your Google identity: your ADC (gcloud auth application-default login; in the lab a key "
                "file) mints the function account's ID tokens; needs roles/iam.serviceAccountTokenCreator on it",
                {
                    "GOOGLE_ID_TOKEN_SOURCE": "impersonation",
                    "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT": topology.runtime.metadata_service_account,
                    "GOOGLE_APPLICATION_CREDENTIALS": str(adc_file),
                },
            ),
            Group(
                _LAB_ONLY,
                _pick(
                    env,
                    "AZURE_AUTHORITY_HOST",
                    "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
                    "GOOGLE_IAM_CREDENTIALS_URL",
                    *_TLS,
                ),
            ),
        ),
    )
    return [azure_function, cloud_function, azure_to_google, google_to_azure]


def _without_blob(lab: Lab) -> dict[str, str]:
    """The Cloud Function's settings when the lab runs without Azurite (``--no-azurite``)."""

    class NoBlob:
        topology = lab.topology
        blob_account_url = "https://127.0.0.1:1/no-blob-storage-lab-runs-without-azurite"
        url = staticmethod(lab.url)
        sts_audience = staticmethod(lab.sts_audience)
        env = staticmethod(lab.env)

    return cloud_function_settings(NoBlob())


def local_settings(profile: Profile) -> str:
    """``local.settings.json`` for ``func start`` (and the local host): the profile as ``Values``."""
    values = {"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsFeatureFlags": "EnableWorkerIndexing"}
    return json.dumps({"IsEncrypted": False, "Values": {**values, **profile.env}}, indent=2) + "\n"


def write(lab: Lab, directory: Path = ENV_DIR) -> list[Profile]:
    """Write every profile to ``directory`` (made if missing, files replaced) and return them.

    Also ``lab.env`` (every endpoint variable at once, ``LAB_ADMIN_URL`` included) and the Azure
    Function's ``local.settings.json``. Files are readable by their owner only: they hold per-run
    secrets of the lab.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = profiles(lab, directory, function_key=secrets.token_urlsafe(16))
    every = {name for p in made for name in p.env}
    files = {p.file_name: p.shell(every) for p in made}
    files["lab.env"] = "# Every lab endpoint at once (the admin route included)\n" + "".join(
        f"export {k}={shlex.quote(v)}\n" for k, v in lab.env().items()
    )
    files[LOCAL_SETTINGS] = local_settings(made[0])
    files[OWNER] = f"{os.getpid()}\n"
    for name, text in files.items():
        path = directory / name
        path.touch(mode=0o600)
        path.write_text(text, encoding="utf-8")
    return made


def remove(directory: Path = ENV_DIR) -> None:
    """Remove what :func:`write` wrote (and the directory, if nothing else is in it).

    Only if this process wrote them last: a lab started later owns them now.
    """
    try:
        owner = int((directory / OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = None
    if owner not in (None, os.getpid()):
        return
    names = {f"{n}.env" for n in ("azure-function", "cloud-function", "azure-to-google", "google-to-azure")}
    for name in (*names, "lab.env", LOCAL_SETTINGS, DEVELOPER_ADC, OWNER):
        (directory / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: files of the user's own
        directory.rmdir()
