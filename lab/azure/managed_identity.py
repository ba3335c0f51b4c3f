"""Azure's managed identity endpoints: App Service's (``IDENTITY_ENDPOINT``) and the VM IMDS, on one port.

Hops ``azure.msi.appservice`` and ``azure.msi.imds``. Both hand out an Entra access token for the
host's managed identity (system-assigned, or user-assigned by ``client_id``), minted by
:class:`lab.azure.entra.Entra`; a refusal comes back in each endpoint's own shape.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from lab.azure.entra import Entra
from lab.core import wire_errors
from lab.core.service import Service


def create(entra: Entra) -> Service:
    """The App Service identity endpoint and the VM IMDS, on one plain-HTTP port (as on the host)."""
    service = Service("azure.msi", entra.controls, lambda status, msg: wire_errors.azure_msi(status, msg))

    @service.route("/msi/token", "appservice")
    def app_service() -> Response:
        if request.headers.get("X-IDENTITY-HEADER") != entra.identity_header:
            return wire_errors.azure_msi(
                401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER."
            )
        if request.args.get("api-version") != "2019-08-01":
            return wire_errors.azure_msi(400, "api-version must be 2019-08-01.")
        issued = managed_identity_token(entra)
        if isinstance(issued, Response):
            return wire_errors.app_service_msi(issued)
        access_token, expires_on, resource, client_id = issued
        return jsonify(
            {
                "access_token": access_token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id,
            }
        )

    # msal-node asks for the token path with a trailing slash (.../oauth2/token/, built in
    # @azure/msal-node ManagedIdentitySources/Imds); the real IMDS answers both.
    @service.route("/metadata/identity/oauth2/token", "imds", strict_slashes=False)
    def imds() -> Response:
        if request.headers.get("Metadata", "").lower() != "true":
            return wire_errors.azure_msi(400, "Required metadata header not specified")
        issued = managed_identity_token(entra)
        if isinstance(issued, Response):
            return issued
        access_token, expires_on, resource, client_id = issued
        lifetime = str(expires_on - int(entra.controls.now()))
        return jsonify(
            {
                "access_token": access_token,
                "client_id": client_id,
                "expires_in": lifetime,
                "expires_on": str(expires_on),
                "ext_expires_in": lifetime,
                "not_before": str(int(entra.controls.now())),
                "resource": resource,
                "token_type": "Bearer",
            }
        )

    return service


def managed_identity_token(entra: Entra) -> tuple[str, int, str, str] | Response:
    topology = entra.topology()
    wanted = request.args.get("client_id")
    if wanted:
        identity = topology.managed_identity(client_id=wanted)
    else:
        identity = topology.managed_identity(name=topology.runtime.app_service_managed_identity)
    if identity is None:
        return wire_errors.azure_msi(
            400, f"No managed identity with client_id '{wanted}' is assigned to this host."
        )
    requested = request.args.get("resource", "")
    if not requested:
        return wire_errors.azure_msi(400, "Required query parameter 'resource' is missing.")
    resource = entra.resolve_resource(identity.tenant_id, requested)
    if resource is None:
        tenant = topology.tenant(identity.tenant_id)
        return wire_errors.entra(
            "invalid_resource",
            500011,
            f"The resource principal named {requested} was not found in the tenant named "
            f"{tenant.display_name if tenant else identity.tenant_id}. This can happen if the application has "
            "not been installed by the administrator of the tenant or consented to by any user in the tenant.",
        )
    access_token, lifetime = entra.mint_access_token(
        tenant_id=identity.tenant_id,
        resource=resource,
        client_app_id=identity.client_id,
        object_id=identity.principal_id,
        acr="2",
    )
    return access_token, int(entra.controls.now()) + lifetime, requested, identity.client_id
