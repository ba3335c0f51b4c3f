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
