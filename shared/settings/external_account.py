"""gcloud's credential configuration files: what kind a file is, and what an ``external_account`` file for
Azure carries (``gcloud iam workload-identity-pools create-cred-config --azure``)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

_IMPERSONATION_URL = re.compile(
    r"^(?P<base>https?://[^/]+)/v1/projects/-/serviceAccounts/(?P<account>[^:/]+):generateAccessToken$"
)


# gcloud's default resource= when ``create-cred-config --azure`` is run without ``--app-id-uri``
# (https://cloud.google.com/sdk/gcloud/reference/iam/workload-identity-pools/create-cred-config):
# the provider's own https://iam.googleapis.com/... name, which is not an Entra application ID URI.
GCLOUD_DEFAULT_RESOURCE = "https://iam.googleapis.com/"


def credential_file_problem(value: str) -> str | None:
    """What is wrong with ``GOOGLE_APPLICATION_CREDENTIALS`` itself (``None`` if it names a JSON file)."""
    if value.lstrip().startswith("{"):
        return (
            "holds the credential file's JSON itself, not a path: write the JSON to a file and set "
            "GOOGLE_APPLICATION_CREDENTIALS to that file's path"
        )
    try:
        with open(value, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return f"no file at {value!r}: the path must exist where the function runs"
    except (OSError, ValueError):
        return f"{value!r} is not a readable JSON file"
    return None if isinstance(data, dict) else f"{value!r} is not a JSON object"


def audience_origin(path: str) -> str:
    """How to name the audience a credential file carries, for a fix (what the user controls)."""
    return (
        f"the resource= of credential_source.url in {path} (GOOGLE_APPLICATION_CREDENTIALS; re-create it with "
        "gcloud iam workload-identity-pools create-cred-config --azure --app-id-uri api://<client-id>, "
        "or set AZURE_TOKEN_AUDIENCE)"
    )


def file_type(path: str) -> str | None:
    """A credential file's ``type`` (``service_account``, ``external_account`` ...), or what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return "not a readable JSON file"
    return str(data.get("type")) if isinstance(data, dict) else "not a JSON object"


def read_external_account(path: str) -> dict[str, Any]:
    """The settings a gcloud ``external_account`` file for Azure carries (``--azure``, or this project's
    ``federation credential-file`` with an executable source)."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    values: dict[str, Any] = {"provider": data.get("audience", "")}
    source = data.get("credential_source") or {}
    if isinstance(source.get("executable"), dict):
        # This project's `federation credential-file`: the command carries the Azure settings; the
        # Azure source is whatever the environment says (managed identity, AKS workload identity ...).
        from shared.tools.credential_file import executable_arguments

        values.update(executable_arguments(str(source["executable"].get("command", ""))))
    else:
        query = parse_qs(urlsplit(source.get("url", "")).query)
        if query.get("resource"):
            values["azure_audience"] = query["resource"][0]
            values["audience_setting"] = audience_origin(path)
        if query.get("client_id"):
            values["azure_client_id"] = query["client_id"][0]
        values["azure_source"] = "managed_identity"
    if data.get("token_url"):
        values["sts_token_url"] = data["token_url"]
    if data.get("universe_domain"):
        values["universe_domain"] = data["universe_domain"]
    impersonation = _IMPERSONATION_URL.match(data.get("service_account_impersonation_url") or "")
    if impersonation:
        values["service_account"] = impersonation["account"]
        values["iam_credentials_url"] = impersonation["base"]
    lifetime = (data.get("service_account_impersonation") or {}).get("token_lifetime_seconds")
    if lifetime:
        values["service_account_token_lifetime_s"] = int(lifetime)
    return values
