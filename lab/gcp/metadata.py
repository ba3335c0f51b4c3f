"""The GCE / Cloud Run metadata server (plain HTTP, as on the host) and accounts.google.com's keys.

Every metadata request needs ``Metadata-Flavor: Google`` and every answer carries it, which
is what google-auth's ping checks. The runtime service account is the topology's
``runtime.metadata_service_account``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, jsonify, request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import GOOGLE, Keys
from lab.core.service import Service
from lab.core.topology import ServiceAccount, Topology
from lab.gcp.iam import id_token_lifetime_s, mint_id_token
from lab.gcp.iam_policy import mint_access_token

FLAVOR = {"Metadata-Flavor": "Google"}
DEFAULT_SCOPES = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
]


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/text", headers=FLAVOR)


def create_metadata(controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> Service:
    """``metadata.google.internal``: project, service account, access and ID tokens."""
    service = Service("gcp.metadata", controls, lambda status, msg: _text(msg, status))

    @service.app.before_request
    def require_flavor() -> Response | None:
        if request.path != "/" and request.headers.get("Metadata-Flavor") != "Google":
            return Response("Missing Metadata-Flavor:Google header.", status=403, mimetype="text/html")
        return None

    @service.app.after_request
    def add_flavor(response: Response) -> Response:
        response.headers.update(FLAVOR)
        return response

    def account(name: str) -> ServiceAccount | None:
        runtime = topology().service_account(topology().runtime.metadata_service_account)
        if runtime is not None and name in ("default", runtime.email):
            return runtime
        return None

    @service.route("/", "ping")
    def ping() -> Response:
        return _text("ok")

    @service.route("/computeMetadata/v1/project/project-id", "project")
    def project_id() -> Response:
        sa = account("default")
        return _text(sa.project_id if sa else "")

    @service.route("/computeMetadata/v1/project/numeric-project-id", "project_number")
    def project_number() -> Response:
        sa = account("default")
        project = topology().project(sa.project_id) if sa else None
        return _text(project.number if project else "")

    @service.route("/computeMetadata/v1/universe/universe-domain", "universe")
    def universe() -> Response:
        return _text("googleapis.com")

    # Directories end in "/" and list their entries, one a line
    # (https://cloud.google.com/compute/docs/metadata/querying-metadata). Node's gcp-metadata
    # detects the server with GET /computeMetadata/v1/instance, without the slash, and needs a
    # 2xx answer (github.com/googleapis/gcp-metadata src/index.ts, isAvailable()).
    @service.route("/computeMetadata/v1/instance", "instance", strict_slashes=False)
    def instance() -> Response:
        return _text("service-accounts/\n")

    @service.route("/computeMetadata/v1/instance/service-accounts/", "service_accounts")
    def service_accounts() -> Response:
        sa = account("default")
        return _text(f"default/\n{sa.email}/\n" if sa else "")

    @service.route("/computeMetadata/v1/instance/service-accounts/<name>/", "service_account")
    def service_account_info(name: str) -> Response:
        sa = account(name)
        if sa is None:
            return _text("Not found", 404)
        return jsonify({"aliases": ["default"], "email": sa.email, "scopes": DEFAULT_SCOPES})

    @service.route("/computeMetadata/v1/instance/service-accounts/<name>/email", "email")
    def email(name: str) -> Response:
        sa = account(name)
        return _text(sa.email) if sa else _text("Not found", 404)

    @service.route("/computeMetadata/v1/instance/service-accounts/<name>/token", "token")
    def token(name: str) -> Response:
        sa = account(name)
        if sa is None:
            return _text("Not found", 404)
        scopes = request.args.get("scopes", ",".join(DEFAULT_SCOPES)).split(",")
        lifetime = min(3600, controls.token_lifetime_s)
        access_token = mint_access_token(
            keys,
            issuer="https://oauth2.googleapis.com",
            principal=f"serviceAccount:{sa.email}",
            members=[f"serviceAccount:{sa.email}"],
            scopes=scopes,
            now=controls.now(),
            lifetime_s=lifetime,
        )
        return jsonify({"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"})

    @service.route("/computeMetadata/v1/instance/service-accounts/<name>/identity", "identity")
    def identity(name: str) -> Response:
        sa = account(name)
        if sa is None:
            return _text("Not found", 404)
        audience = request.args.get("audience", "")
        if not audience:
            return _text("non-empty audience parameter required", 400)
        id_token = mint_id_token(
            keys,
            account=sa,
            audience=audience,
            now=controls.now(),
            lifetime_s=id_token_lifetime_s(controls),
            include_email=request.args.get("format") == "full",
        )
        return _text(id_token)

    return service


def create_accounts(controls: Controls, keys: Keys) -> Service:
    """``accounts.google.com`` / ``www.googleapis.com/oauth2/v3/certs``: the ID-token issuer's keys."""
    service = Service(
        "gcp.accounts", controls, lambda status, msg: wire_errors.oauth("internal_failure", msg, status)
    )

    @service.route("/.well-known/openid-configuration", "discovery")
    def discovery() -> Response:
        base = request.host_url.rstrip("/")
        return jsonify(
            {
                "issuer": "https://accounts.google.com",
                "jwks_uri": f"{base}/oauth2/v3/certs",
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
                "response_types_supported": ["code", "token", "id_token"],
                "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "sub", "azp"],
            }
        )

    @service.route("/oauth2/v3/certs", "jwks")
    def certs() -> Response:
        return jsonify(keys.jwks(GOOGLE))

    return service
