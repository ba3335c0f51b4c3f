"""Azure Resource Manager, as much as a sign-in needs: ``GET /subscriptions``.

``az login`` lists the caller's subscriptions right after it gets a token for the ARM resource
(azure-cli ``azure/cli/core/_profile.py``, SubscriptionFinder). The lab models no subscriptions,
so every principal gets an empty list: what ARM answers a principal with no role in any
subscription (https://learn.microsoft.com/rest/api/resources/subscriptions/list; the CLI then
needs ``--allow-no-subscriptions``, as github.com/Azure/azure-cli/issues/21949 shows).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Response, request

from lab.core.controls import Controls
from lab.core.keys import ENTRA, InvalidToken, Keys
from lab.core.service import Service
from lab.core.topology import Topology

# The ARM resource, as v1 tokens name it (both identifier URIs of the Windows Azure Service
# Management API app, 797f4846-ba00-4fd7-ba43-dac1f8f63013).
ARM_AUDIENCES = {
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
    "https://management.azure.com",
    "https://management.azure.com/",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
}


def cloud_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """ARM's error body: ``{"error": {"code", "message"}}``
    (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
    and every ARM operation's ``ErrorResponse``)."""
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json", headers=headers or {})


def create(controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> Service:
    """The ``management.azure.com`` stand-in (HTTPS)."""
    service = Service(
        "azure.arm", controls, lambda status, msg: cloud_error(status, "InternalServerError", msg)
    )

    @service.route("/subscriptions", "subscriptions.list")
    def list_subscriptions() -> Response:
        refusal = _authenticate(controls, keys, topology())
        if refusal is not None:
            return refusal
        if not request.args.get("api-version"):
            return cloud_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        return Response(json.dumps({"value": []}), mimetype="application/json")

    return service


def _authenticate(controls: Controls, keys: Keys, topology: Topology) -> Response | None:
    tenant = topology.tenants[0].tenant_id if topology.tenants else "common"
    challenge = {
        "WWW-Authenticate": (
            f'Bearer authorization_uri="https://login.windows.net/{tenant}", error="invalid_token", '
            "error_description=\"The authentication failed because of missing 'Authorization' header.\""
        )
    }
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("bearer "):
        return cloud_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            challenge,
        )
    try:
        claims = keys.decode(authorization[7:].strip(), ENTRA)
    except InvalidToken:
        return cloud_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
    if float(claims.get("exp", 0)) <= controls.now():
        return cloud_error(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )
    if claims.get("aud") not in ARM_AUDIENCES:
        return cloud_error(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. It should "
            "exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'.",
        )
    return None
