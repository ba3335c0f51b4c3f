"""A thin gateway in front of Azurite: counters, faults, and Azure RBAC, which Azurite lacks.

Azurite decodes bearer tokens but checks neither their signature nor role assignments. The
gateway verifies the token with Entra's keys and requires a role assignment (``Storage Blob
Data Reader`` or above, on the account or the container) for the token's ``oid``, answering
as Azure Storage does (403 ``AuthorizationPermissionMismatch``), then forwards to Azurite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests
from flask import Response, request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import ENTRA, InvalidToken, Keys
from lab.core.service import Service
from lab.core.topology import Topology

READ_ROLES = {
    "Storage Blob Data Reader",
    "Storage Blob Data Contributor",
    "Storage Blob Data Owner",
}
WRITE_ROLES = {"Storage Blob Data Contributor", "Storage Blob Data Owner"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "upgrade"}
# The lab's HTTP server writes its own Server and Date; Azurite's would make a second copy.
SERVER_WRITTEN = {"server", "date"}
# OAuth needs x-ms-version 2017-11-09 or later; without it Azure Storage answers 403
# AuthenticationFailed, "Authentication scheme Bearer is not supported in this version."
# (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory,
# the error as reported in github.com/microsoft/AzureStorageExplorer/issues/3586 and
# github.com/microsoft/typespec/pull/7216).
OAUTH_MIN_VERSION = "2017-11-09"


def scope_covers(scope: str, account: str, container: str | None) -> bool:
    """Whether an ARM role-assignment ``scope`` covers ``account`` (and ``container``)."""
    parts = scope.rstrip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "storageaccounts" not in lowered:
        return False  # subscription or resource-group scopes are not modelled by the lab
    index = lowered.index("storageaccounts")
    if index + 1 >= len(parts) or parts[index + 1] != account:
        return False
    if "containers" in lowered:
        scoped_container = parts[lowered.index("containers") + 1]
        return container is not None and scoped_container == container
    return True


def create(
    controls: Controls, keys: Keys, topology: Callable[[], Topology], upstream: str, ca_file: Path
) -> Service:
    """The ``<account>.blob.core.windows.net`` stand-in, forwarding to Azurite at ``upstream``."""
    service = Service("azure.blob", controls, wire_errors.storage_fault)
    session = requests.Session()
    session.verify = str(ca_file)
    session.trust_env = False

    def forward(path: str = "") -> Response:
        refusal = _authorize(keys, controls, topology(), path)
        if refusal is not None:
            return refusal
        upstream_response = session.request(
            request.method,
            f"{upstream}/{path}",
            params=request.args.to_dict(flat=False),
            headers={k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP},
            data=request.get_data(),
            stream=True,
            timeout=30,
        )
        body = upstream_response.raw.read(decode_content=False)
        headers = [
            (k, v)
            for k, v in upstream_response.headers.items()
            if k.lower() not in HOP_BY_HOP | SERVER_WRITTEN
        ]
        if body and "xml" in upstream_response.headers.get("Content-Type", ""):
            # List operations name the service endpoint (EnumerationResults/@ServiceEndpoint,
            # https://learn.microsoft.com/rest/api/storageservices/list-blobs#response-body):
            # the address the client called, not Azurite's own port behind the gateway.
            body = body.replace(upstream.encode(), request.host_url.rstrip("/").encode())
        response = Response(body, status=upstream_response.status_code, headers=headers)
        if request.method == "HEAD" and "Content-Length" in upstream_response.headers:
            # HEAD carries the size of the body a GET would return (RFC 9110 section 9.3.2;
            # Get Blob Properties: https://learn.microsoft.com/rest/api/storageservices/get-blob-properties).
            response.headers["Content-Length"] = upstream_response.headers["Content-Length"]
        return response

    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
    service.route("/", "", methods=methods)(forward)
    service.route("/<path:path>", "", methods=methods)(forward)
    return service


def _authorize(keys: Keys, controls: Controls, topology: Topology, path: str) -> Response | None:
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("bearer "):
        return None  # shared-key and anonymous requests: Azurite's own rules apply
    if request.headers.get("x-ms-version", "") < OAUTH_MIN_VERSION:
        return wire_errors.storage(
            403,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is "
            "formed correctly including the signature.",
            detail="Authentication scheme Bearer is not supported in this version.",
        )
    try:
        claims = keys.decode(authorization[7:].strip(), ENTRA)
    except InvalidToken:
        return _unauthenticated(topology, "")
    if float(claims.get("exp", 0)) <= controls.now():
        return _unauthenticated(topology, " Lifetime validation failed. The token is expired.")
    segments = [s for s in path.split("/") if s]
    account = segments[0] if segments else ""
    container = segments[1] if len(segments) > 1 else None
    wanted = READ_ROLES if request.method in ("GET", "HEAD", "OPTIONS") else WRITE_ROLES
    oid = str(claims.get("oid", ""))
    for assignment in topology.role_assignments:
        if (
            assignment.principal_id == oid
            and assignment.role_definition_name in wanted
            and scope_covers(assignment.scope, account, container)
        ):
            return None
    return wire_errors.storage(
        403,
        "AuthorizationPermissionMismatch",
        "This request is not authorized to perform this operation using this permission.",
    )


def _unauthenticated(topology: Topology, detail: str) -> Response:
    """401 InvalidAuthenticationInfo with the bearer challenge Azure Storage sends, naming the
    tenant's authority and the storage resource
    (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory,
    "Bearer challenge"; azure-core's storage challenge policy reads it)."""
    tenant = topology.tenants[0].tenant_id if topology.tenants else "common"
    challenge = (
        f"Bearer authorization_uri=https://login.microsoftonline.com/{tenant}/oauth2/authorize "
        "resource_id=https://storage.azure.com"
    )
    return wire_errors.storage(
        401,
        "InvalidAuthenticationInfo",
        "Server failed to authenticate the request. Please refer to the information in the "
        f"www-authenticate header.{detail}",
        headers={"WWW-Authenticate": challenge},
    )
