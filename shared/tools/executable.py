"""Google's executable source: the Azure subject token as the executable-response JSON any Google library reads.

An ``external_account`` credential file whose ``credential_source`` is ``executable`` makes every
Google client library (Python, Go, Java, Node, .NET, PHP, and through them gcloud, bq and
Terraform's google provider) run a command, read a versioned JSON response from its stdout, and
exchange the token in it at STS itself. This module is that command for an Azure workload: the
Azure token comes from the same azure-identity credential, settings and error translation as
:func:`shared.google_credentials` (managed identity on Functions/App Service, workload identity
on AKS, ...), which the gcloud ``--azure`` configuration (VM IMDS only) cannot reach.

The response (AIP-4117 "External Account Credentials", https://google.aip.dev/auth/4117;
google-auth ``pluggable.py``; Java ``PluggableAuthCredentials`` reference)::

    {"version": 1, "success": true, "token_type": "urn:ietf:params:oauth:token-type:jwt",
     "id_token": "<the Azure access token>", "expiration_time": <Unix seconds>}
    {"version": 1, "success": false, "code": "<code>", "message": "<what failed and what to change>"}

A success exits 0; a failure exits 1 and still prints its JSON (AIP-4117: "When false, the response
must contain the error code and message fields and exit with a non-zero value"; google-auth puts the
printed text into its ``RefreshError``). The libraries only run executables when
``GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1``, and pass ``GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE`` (the
provider) and, when the file names one, ``GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE``.

Output file: a library reads it first and runs the command only when the cached response is missing
or its ``expiration_time`` has passed (google-auth ``retrieve_subject_token``). This command writes
each success there (0600, atomically) and, under a lock on the file, first re-reads it: however many
processes start at once, one Azure token request is made and the others print the response it wrote
(single flight across processes). ``expiration_time`` is the token's ``exp`` less
:data:`EXPIRY_MARGIN_S`, so a cached token is never handed to STS in its last minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential

from shared.redaction import shown_claims
from shared.settings import AzureToGoogleSettings
from shared.tools.files import locked, write_private

RESPONSE_VERSION = 1
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
EXPIRY_MARGIN_S = 60
OUTPUT_FILE_VARIABLE = "GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE"
AUDIENCE_VARIABLE = "GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE"


def success_response(token: str, expiration_time: int) -> dict[str, Any]:
    """A successful executable response carrying ``token`` (a JWT), valid until ``expiration_time`` (Unix s)."""
    return {
        "version": RESPONSE_VERSION,
        "success": True,
        "token_type": JWT_TOKEN_TYPE,
        "id_token": token,
        "expiration_time": expiration_time,
    }


def error_response(code: str, message: str) -> dict[str, Any]:
    """A failed executable response: ``code`` and ``message`` are what the library shows its caller."""
    return {"version": RESPONSE_VERSION, "success": False, "code": code, "message": message}


def settings_for_executable(
    environ: Mapping[str, str], *, azure_audience: str | None = None, azure_client_id: str | None = None
) -> AzureToGoogleSettings:
    """The Azure -> Google settings, as the library reads them, plus what the command line and the
    calling library give: ``--azure-audience``, ``--azure-client-id`` and the provider in
    ``GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE`` when ``GCP_WORKLOAD_IDENTITY_PROVIDER`` is unset.

    :raises shared.errors.SettingsError: listing every problem.
    """
    overrides: dict[str, Any] = {}
    if azure_audience:
        overrides["azure_audience"] = azure_audience
    if azure_client_id:
        overrides["azure_client_id"] = azure_client_id
    if not environ.get("GCP_WORKLOAD_IDENTITY_PROVIDER") and environ.get(AUDIENCE_VARIABLE):
        overrides["provider"] = environ[AUDIENCE_VARIABLE]
    return AzureToGoogleSettings.from_env(environ, **overrides)


def subject_token_response(
    settings: AzureToGoogleSettings,
    *,
    output_file: str | Path | None = None,
    azure_credential: TokenCredential | None = None,
) -> dict[str, Any]:
    """A successful response with a fresh Azure token (or the cached one in ``output_file``, if still good).

    :raises shared.errors.FederationError: the Azure token could not be had (hop ``azure.token``/``azure.msi``).
    """
    if output_file is None:
        return _fetch(settings, azure_credential)
    with locked(output_file):
        cached = read_cached(output_file)
        if cached is not None:
            return cached
        response = _fetch(settings, azure_credential)
        write_private(output_file, json.dumps(response).encode())
        return response


def read_cached(output_file: str | Path, now: float | None = None) -> dict[str, Any] | None:
    """The successful response in ``output_file`` if it is still valid, else ``None``."""
    try:
        data = json.loads(Path(output_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("success") is not True or not data.get("id_token"):
        return None
    expiration = data.get("expiration_time")
    if not isinstance(expiration, int | float) or expiration <= (time.time() if now is None else now):
        return None
    return data


def _fetch(settings: AzureToGoogleSettings, credential: TokenCredential | None) -> dict[str, Any]:
    from shared.azure_credential import azure_credential
    from shared.azure_to_google import AzureSubjectTokenSupplier

    supplier = AzureSubjectTokenSupplier(credential or azure_credential(settings), settings.azure_audience)
    token = supplier.get_subject_token(None, None)
    expires = int(shown_claims(token).get("exp", time.time() + 300))
    return success_response(token, expires - EXPIRY_MARGIN_S)


def failure_response(error: BaseException) -> dict[str, Any]:
    """The error response for anything the command raised, classified as the functions classify it."""
    from shared.functions.http import describe

    failure = describe(error)
    code = failure.upstream_code or failure.code
    message = f"[{failure.hop or 'azure.token'}] {failure.message}" if failure.hop else failure.message
    if failure.code == "internal":
        message = f"{type(error).__name__}: see the executable's stderr"
    if failure.settings:
        message += f" (settings: {', '.join(failure.settings)})"
    if failure.fix:
        message += f" Fix: {failure.fix}"
    return error_response(code, message)
