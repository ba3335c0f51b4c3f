"""Microsoft Entra ID: the v2.0 token endpoint, OIDC discovery and JWKS.

The token endpoint grants ``client_credentials`` with a client secret or with a client
assertion checked against the app's federated identity credentials, and refuses with the
AADSTS codes Entra uses. :class:`Entra` also mints the tokens the managed identity endpoints
(:mod:`lab.azure.managed_identity`, App Service and VM IMDS forms) hand out.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Response, jsonify, request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import ENTRA, InvalidToken, Keys, family_of_issuer
from lab.core.service import Service
from lab.core.topology import Application, Topology

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALLOWED_SKEW_S = 300  # Entra tolerates five minutes of clock skew on assertions
FIC_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

# api://AzureADTokenExchange (and its sovereign twins) is the audience a managed identity asks for to use
# its token as a client assertion ("Configure an application to trust a managed identity", Microsoft
# Learn; Microsoft.Identity.Web's ManagedIdentityClientAssertion, AzureAD/microsoft-identity-web#2796);
# its client ID is not documented, so the lab uses one of its own. Its tokens are v2.
TOKEN_EXCHANGE_APP_ID = "7f5b0a54-1a3e-4c36-9d6e-0b5f3d1c2a10"  # the lab's stand-in

# Microsoft's own applications, present in every tenant: resource -> (app ID, token version).
# Azure Resource Manager (the "Windows Azure Service Management API" app): `az login` asks for
# https://management.core.windows.net//.default first
# (https://learn.microsoft.com/troubleshoot/azure/entra/entra-id/governance/verify-first-party-apps-sign-in).
FIRST_PARTY = {
    "https://storage.azure.com": ("e406a681-f3d4-42a8-90b6-c2b029497af1", 1),
    "api://AzureADTokenExchange": (TOKEN_EXCHANGE_APP_ID, 2),
    "api://AzureADTokenExchangeUSGov": (TOKEN_EXCHANGE_APP_ID, 2),
    "api://AzureADTokenExchangeChina": (TOKEN_EXCHANGE_APP_ID, 2),
    "https://management.core.windows.net": ("797f4846-ba00-4fd7-ba43-dac1f8f63013", 1),
    "https://management.azure.com": ("797f4846-ba00-4fd7-ba43-dac1f8f63013", 1),
}


@dataclass(frozen=True)
class Resource:
    """What a token is for: the ``aud`` of v1 and v2 tokens and the version the resource accepts."""

    requested: str
    app_id: str
    version: int

    @property
    def audience(self) -> str:
        return self.requested if self.version == 1 else self.app_id


ENTRA_BACKDATE_S = 300


class Entra:
    """State shared by the token endpoint and the managed-identity endpoints."""

    def __init__(self, controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> None:
        self.controls = controls
        self.keys = keys
        self.topology = topology
        self.identity_header = secrets.token_urlsafe(24)
        keys.remember(self.identity_header)
        self._client_secrets: dict[str, str] = {}

    def client_secret(self, client_id: str) -> str:
        """The secret generated for an app registration with ``password = true`` (made on first use)."""
        if client_id not in self._client_secrets:
            secret = secrets.token_urlsafe(30)
            self.keys.remember(secret)
            self._client_secrets[client_id] = secret
        return self._client_secrets[client_id]

    # -- resources and tokens -------------------------------------------------------------
    def resolve_resource(self, tenant_id: str, resource: str) -> Resource | None:
        requested = resource.rstrip("/")
        if requested in FIRST_PARTY:
            app_id, version = FIRST_PARTY[requested]
            return Resource(requested, app_id, version)
        app = self.topology().application_by_identifier_uri(tenant_id, requested)
        if app is None:
            return None
        return Resource(requested, app.client_id, app.requested_access_token_version)

    def mint_access_token(
        self, *, tenant_id: str, resource: Resource, client_app_id: str, object_id: str, acr: str
    ) -> tuple[str, int]:
        """An access token as Entra would issue it for ``resource``; returns (token, expires_in).

        ``expires_in`` is what is left of the lifetime when the answer leaves (whole seconds,
        rounded down), so a client's ``now + expires_in`` never lands after the token's ``exp``.
        """
        now = int(self.controls.now())
        lifetime = self.controls.token_lifetime_s
        claims: dict[str, Any] = {
            "aud": resource.audience,
            # Entra backdates iat and nbf by five minutes, so a resource whose clock is a little
            # behind still accepts a token issued a moment ago.
            "iat": now - ENTRA_BACKDATE_S,
            "nbf": now - ENTRA_BACKDATE_S,
            "exp": now + lifetime,
            "oid": object_id,
            "sub": object_id,
            "tid": tenant_id,
            "idtyp": "app",
            "uti": uuid.uuid4().hex[:22],
        }
        if resource.version == 1:
            issuer = f"https://sts.windows.net/{tenant_id}/"
            claims.update(iss=issuer, idp=issuer, appid=client_app_id, appidacr=acr, ver="1.0")
        else:
            claims.update(
                iss=f"https://login.microsoftonline.com/{tenant_id}/v2.0",
                azp=client_app_id,
                azpacr=acr,
                ver="2.0",
            )
        return self.keys.mint(ENTRA, claims), int(now + lifetime - self.controls.now())


def create_login(entra: Entra) -> Service:
    """The ``login.microsoftonline.com`` stand-in (HTTPS)."""
    service = Service("entra", entra.controls, lambda status, msg: _fault(status, msg))

    @service.route("/<tenant>/v2.0/.well-known/openid-configuration", "discovery")
    def discovery(tenant: str) -> Response:
        topology = entra.topology()
        if tenant not in ("common", "organizations") and topology.tenant(tenant) is None:
            return wire_errors.entra("invalid_tenant", 90002, _tenant_not_found(tenant))
        base = request.host_url.rstrip("/")
        issuer_tenant = "{tenantid}" if tenant in ("common", "organizations") else tenant
        return jsonify(
            {
                "issuer": f"https://login.microsoftonline.com/{issuer_tenant}/v2.0",
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    @service.route("/<tenant>/discovery/v2.0/keys", "jwks")
    def jwks(tenant: str) -> Response:
        return jsonify(entra.keys.jwks(ENTRA))

    @service.route("/common/discovery/instance", "instance_discovery")
    def instance_discovery() -> Response:
        host = request.host
        return jsonify(
            {
                "tenant_discovery_endpoint": f"https://{host}/common/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    @service.route("/<tenant>/oauth2/v2.0/token", "token", methods=["POST"])
    def token(tenant: str) -> Response:
        return _token(entra, tenant, request.form)

    @service.route("/<tenant>/oauth2/token", "token_v1", methods=["POST"])
    def token_v1(tenant: str) -> Response:
        return _token_v1(entra, tenant, request.form)

    return service


def _token_v1(entra: Entra, tenant_id: str, form: Any) -> Response:
    """The v1.0 token endpoint: ``resource=`` instead of ``scope=``, and an answer whose times are
    strings, with ``expires_on``, ``not_before`` and ``resource``
    (https://learn.microsoft.com/previous-versions/azure/active-directory/azuread-dev/v1-oauth2-client-creds-grant-flow)."""
    resource = form.get("resource", "")
    if not resource:
        return wire_errors.entra(
            "invalid_request", 900144, "The request body must contain the following parameter: 'resource'."
        )
    as_v2 = {key: form.get(key) for key in form}
    as_v2["scope"] = f"{resource.rstrip('/')}/.default"
    answer = _token(entra, tenant_id, as_v2)
    if answer.status_code != 200:
        return answer
    issued = answer.get_json()
    now = int(entra.controls.now())
    return jsonify(
        {
            "token_type": "Bearer",
            "expires_in": str(issued["expires_in"]),
            "ext_expires_in": str(issued["ext_expires_in"]),
            "expires_on": str(now + int(issued["expires_in"])),
            "not_before": str(now),
            "resource": resource,
            "access_token": issued["access_token"],
        }
    )


def _token(entra: Entra, tenant_id: str, form: Any) -> Response:
    topology = entra.topology()
    tenant = topology.tenant(tenant_id)
    if tenant is None:
        return wire_errors.entra("invalid_request", 90002, _tenant_not_found(tenant_id))
    if form.get("grant_type") != "client_credentials":
        return wire_errors.entra(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
        )
    client_id = form.get("client_id", "")
    app = topology.federated_client(tenant.tenant_id, client_id)  # an app or a user-assigned identity
    if app is None:
        return wire_errors.entra(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant.display_name or tenant.tenant_id}'. This can happen if the application has not been "
            "installed by the administrator of the tenant or consented to by any user in the tenant. "
            "You may have sent your authentication request to the wrong tenant.",
        )
    scope = form.get("scope", "")
    if not scope.endswith("/.default") or " " in scope.strip():
        return wire_errors.entra(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI).",
        )
    resource = entra.resolve_resource(tenant.tenant_id, scope.removesuffix("/.default"))
    if resource is None:
        return wire_errors.entra(
            "invalid_resource",
            500011,
            f"The resource principal named {scope.removesuffix('/.default')} was not found in the tenant "
            f"named {tenant.display_name or tenant.tenant_id}. This can happen if the application has not "
            "been installed by the administrator of the tenant or consented to by any user in the tenant. "
            "You might have sent your authentication request to the wrong tenant.",
        )
    refusal = _authenticate_client(entra, app, form)
    if refusal is not None:
        return refusal
    acr = "1" if form.get("client_secret") else "2"
    access_token, lifetime = entra.mint_access_token(
        tenant_id=tenant.tenant_id,
        resource=resource,
        client_app_id=app.client_id,
        object_id=app.service_principal_object_id,
        acr=acr,
    )
    return jsonify(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
    )


def _authenticate_client(entra: Entra, app: Application, form: Any) -> Response | None:
    """None when the client proved it is ``app``; otherwise Entra's refusal."""
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if secret is not None:
        if app.password and secrets.compare_digest(secret, entra.client_secret(app.client_id)):
            return None
        return wire_errors.entra(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{app.client_id}'.",
            status=401,
        )
    if assertion is None:
        return wire_errors.entra(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    if form.get("client_assertion_type") != JWT_BEARER:
        return wire_errors.entra(
            "invalid_request",
            50027,
            "JWT token is invalid or malformed (client_assertion_type is not jwt-bearer).",
        )
    return _check_assertion(entra, app, assertion)


def _check_assertion(entra: Entra, app: Application, assertion: str) -> Response | None:
    try:
        claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return wire_errors.entra("invalid_request", 50027, "JWT token is invalid or malformed.")
    issuer, subject, audience = str(claims.get("iss", "")), str(claims.get("sub", "")), claims.get("aud", "")
    audiences = set(audience) if isinstance(audience, list) else {str(audience)}
    by_issuer = [f for f in app.federated_identity_credentials if f.issuer == issuer]
    if not by_issuer:
        return wire_errors.entra(
            "invalid_request",
            700211,
            f"No matching federated identity record found for presented assertion issuer '{issuer}'. "
            "Please check your federated identity credential Subject, Audience and Issuer against the "
            f"presented assertion. {FIC_DOCS}",
        )
    try:
        entra.keys.decode(assertion, family_of_issuer(issuer))
    except InvalidToken as exc:
        if exc.malformed:
            return wire_errors.entra("invalid_request", 50027, "JWT token is invalid or malformed.")
        return wire_errors.entra(
            "invalid_client", 700027, "Client assertion failed signature validation.", status=401
        )
    now = entra.controls.now()
    valid_from = float(claims.get("nbf", claims.get("iat", 0)))
    expires = float(claims.get("exp", 0))
    if not (valid_from - ALLOWED_SKEW_S <= now < expires + ALLOWED_SKEW_S):
        return wire_errors.entra(
            "invalid_client",
            700024,
            f"Client assertion is not within its valid time range. Current time: {_iso(now)}, assertion valid "
            f"from {_iso(valid_from)}, expiry time of assertion {_iso(expires)}. Review the documentation at "
            "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
            status=401,
        )
    for fic in by_issuer:
        if fic.subject == subject and audiences & set(fic.audiences):
            return None
    if any(f.subject == subject for f in by_issuer):
        return wire_errors.entra(
            "invalid_request",
            700212,
            f"No matching federated identity record found for presented assertion audience "
            f"'{', '.join(sorted(audiences))}'. Please check your federated identity credential Subject, "
            f"Audience and Issuer against the presented assertion. {FIC_DOCS}",
        )
    if any(f.subject.lower() == subject.lower() for f in by_issuer):
        return wire_errors.entra(
            "invalid_request",
            7002138,
            f"No matching federated identity record found for presented assertion subject '{subject}'. "
            "Please note that the matching is done using a case-sensitive comparison. Check your federated "
            f"identity credential Subject, Audience and Issuer against the presented assertion. {FIC_DOCS}",
        )
    # The issuer matched a credential, the subject none: Entra answers AADSTS700213 with HTTP 401
    # invalid_client (Azure/login#482, Azure/azure-workload-identity#1200, dotnet/maui#31978; older
    # reports show 70021 for the same case).
    return wire_errors.entra(
        "invalid_client",
        700213,
        f"No matching federated identity record found for presented assertion subject '{subject}'. Check your "
        "federated identity credential Subject, Audience and Issuer against the presented assertion. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        status=401,
    )


def _fault(status: int, message: str) -> Response:
    if status == 404:
        return wire_errors.entra("invalid_request", 900144, message)
    return wire_errors.entra(
        "temporarily_unavailable", 90033 if status == 503 else 50000, message, status=status
    )


def _tenant_not_found(tenant: str) -> str:
    return (
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant."
    )


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
