"""The ``external_account`` credential file that runs :mod:`shared.tools.executable` for every Google library.

The file is what ``gcloud iam workload-identity-pools create-cred-config AUDIENCE --executable-command=...
--executable-timeout-millis=... --executable-output-file=... --service-account=...`` writes
(https://cloud.google.com/sdk/gcloud/reference/iam/workload-identity-pools/create-cred-config), with the
command filled in: point ``GOOGLE_APPLICATION_CREDENTIALS`` at it and set
``GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1``. Fields (AIP-4117, https://google.aip.dev/auth/4117;
google-auth ``pluggable.py``)::

    {"type": "external_account", "audience": "//iam.googleapis.com/projects/N/.../providers/P",
     "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": ".../v1/token",
     "service_account_impersonation_url": ".../serviceAccounts/SA:generateAccessToken",   (optional)
     "service_account_impersonation": {"token_lifetime_seconds": 3600},                     (optional)
     "credential_source": {"executable": {"command": "...", "timeout_millis": 30000,
                                          "output_file": "..."}},                           (output_file optional)
     "universe_domain": "googleapis.com"}

``timeout_millis`` must be 5,000 to 120,000 (google-auth refuses others, "Timeout must be between 5 and
120 seconds"). The command is split on whitespace by the libraries (google-auth ``shlex.split``), so its
words must not contain spaces.
"""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from shared.errors import SettingsError
from shared.settings import AzureToGoogleSettings
from shared.tools.executable import JWT_TOKEN_TYPE
from shared.tools.files import write_private

EXECUTABLE_COMMAND = "executable-source"
TIMEOUT_MS_RANGE = (5_000, 120_000)
DEFAULT_TIMEOUT_MS = 30_000


def executable_command(settings: AzureToGoogleSettings) -> str:
    """The command line the libraries run: this project's ``federation executable-source``, with the
    Azure audience (and user-assigned identity) spelled out, so the file carries the whole configuration.

    The ``federation`` console script when it is installed, else this interpreter with ``-m shared``
    (``PYTHONPATH`` set to where ``shared/`` lives, through ``env``, since the libraries pass no cwd).
    """
    words = [EXECUTABLE_COMMAND, "--azure-audience", settings.azure_audience]
    if settings.azure_client_id:
        words += ["--azure-client-id", settings.azure_client_id]
    script = Path(sys.executable).parent / "federation"
    if script.is_file():
        prefix = [str(script)]
    else:
        root = str(Path(__file__).resolve().parents[2])
        prefix = [shutil.which("env") or "/usr/bin/env", f"PYTHONPATH={root}", sys.executable, "-m", "shared"]
    command = [*prefix, *words]
    if any(not word or any(c.isspace() for c in word) for word in command):
        raise SettingsError([("--command", f"a word of the command contains a space: {shlex.join(command)}")])
    return " ".join(command)


def credential_config(
    settings: AzureToGoogleSettings,
    *,
    command: str | None = None,
    output_file: str | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> dict[str, Any]:
    """The credential configuration as a dict (see the module docstring for its shape).

    :raises shared.errors.SettingsError: ``timeout_ms`` out of range.
    """
    low, high = TIMEOUT_MS_RANGE
    if not low <= timeout_ms <= high:
        raise SettingsError([("--timeout-millis", f"{low} to {high} milliseconds; got {timeout_ms}")])
    executable: dict[str, Any] = {
        "command": command or executable_command(settings),
        "timeout_millis": timeout_ms,
    }
    if output_file:
        executable["output_file"] = str(Path(output_file).resolve())
    config: dict[str, Any] = {
        "universe_domain": settings.universe_domain,
        "type": "external_account",
        "audience": settings.provider,
        "subject_token_type": JWT_TOKEN_TYPE,
        "token_url": settings.sts_url,
    }
    if settings.impersonation_url:
        config["service_account_impersonation_url"] = settings.impersonation_url
        config["service_account_impersonation"] = {
            "token_lifetime_seconds": settings.service_account_token_lifetime_s
        }
    config["credential_source"] = {"executable": executable}
    return config


def write_credential_file(path: str | Path, config: dict[str, Any]) -> None:
    """Write ``config`` to ``path`` (0600: it holds no secret, but it names what to run)."""
    write_private(path, (json.dumps(config, indent=2) + "\n").encode())


def executable_arguments(command: str) -> dict[str, str]:
    """The settings an executable command of this project carries (for reading such a file back)."""
    words = shlex.split(command)
    if EXECUTABLE_COMMAND not in words:
        return {}
    values: dict[str, str] = {}
    names = {"--azure-audience": "azure_audience", "--azure-client-id": "azure_client_id"}
    for flag, value in itertools.pairwise(words):
        if flag in names:
            values[names[flag]] = value
    return values
