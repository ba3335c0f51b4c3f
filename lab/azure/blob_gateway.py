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
        headers = [(k, v) for k, v in upstream_response.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(body, status=upstream_response.status_code, headers=headers)

    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
    service.route("/", "", methods=methods)(forward)
    service.route("/<path:path>", "", methods=methods)(forward)
    return service


def _authorize(keys: Keys, controls: Controls, topology: Topology, path: str) -> Response | None:
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("bearer "):
        return None  # shared-key and anonymous requests: Azurite's own rules apply
    try:
        claims = keys.decode(authorization[7:].strip(), ENTRA)
    except InvalidToken:
        return wire_errors.storage(
            401,
            "InvalidAuthenticationInfo",
            "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
        )
    if float(claims.get("exp", 0)) <= controls.now():
        return wire_errors.storage(
            401,
            "InvalidAuthenticationInfo",
            "Server failed to authenticate the request. Lifetime validation failed. The token is expired.",
        )
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
