"""IAM Service Account Credentials: ``generateAccessToken`` and ``generateIdToken``.

Both check the caller's bindings on the service account (``roles/iam.workloadIdentityUser``
or ``roles/iam.serviceAccountTokenCreator`` on the account or its project) and refuse as
IAM does: 403 ``PERMISSION_DENIED`` with an ``IAM_PERMISSION_DENIED`` ``ErrorInfo``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import GOOGLE, Keys
from lab.core.service import Service
from lab.core.topology import ServiceAccount, Topology
from lab.gcp.iam_policy import Identity, Unauthenticated, identity_from_header, is_member, mint_access_token

IMPERSONATION_ROLES = ("roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator")
MAX_LIFETIME_S = 3600


def id_token_lifetime_s(controls: Controls) -> int:
    """How long an ID token from IAM or the metadata server lives: an hour, or the lab's shorter lifetime."""
    return min(3600, controls.token_lifetime_s)


def mint_id_token(
    keys: Keys, *, account: ServiceAccount, audience: str, now: float, lifetime_s: int, include_email: bool
) -> str:
    """A Google-signed ID token for ``account``, as the metadata server and IAM issue them."""
    claims: dict[str, Any] = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "azp": account.unique_id,
        "sub": account.unique_id,
        "iat": int(now),
        "exp": int(now) + lifetime_s,
    }
    if include_email:
        claims.update(email=account.email, email_verified=True)
    return keys.mint(GOOGLE, claims)


def create(controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> Service:
    """The ``iamcredentials.googleapis.com`` stand-in (HTTPS)."""
    service = Service("gcp.iam", controls, lambda status, msg: wire_errors.google_api(status, msg))

    def authorize(account_key: str, permission: str) -> tuple[Identity, ServiceAccount] | Response:
        try:
            identity = identity_from_header(keys, controls.now(), request.headers.get("Authorization"))
        except Unauthenticated as exc:
            return wire_errors.google_api(
                401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
            )
        world = topology()  # one snapshot, even if a test swaps the topology meanwhile
        account = world.service_account(account_key)
        if account is None:
            return wire_errors.google_api(404, f"Not found; Gaia id not found for email {account_key}")
        resources = (
            f"projects/{account.project_id}/serviceAccounts/{account.email}",
            f"projects/{account.project_id}",
        )
        members = {
            m for r in resources for role in IMPERSONATION_ROLES for m in world.members_with_role(r, role)
        }
        if not is_member(identity, members):
            return wire_errors.google_api(
                403,
                f"Permission '{permission}' denied on resource (or it may not exist).",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "IAM_PERMISSION_DENIED",
                        "domain": "iam.googleapis.com",
                        "metadata": {"permission": permission},
                    }
                ],
            )
        return identity, account

    @service.route(
        "/v1/projects/<project>/serviceAccounts/<account>:generateAccessToken",
        "generateAccessToken",
        methods=["POST"],
    )
    def generate_access_token(project: str, account: str) -> Response:
        outcome = authorize(account, "iam.serviceAccounts.getAccessToken")
        if isinstance(outcome, Response):
            return outcome
        _, target = outcome
        body = request.get_json(silent=True) or {}
        scopes = body.get("scope") or []
        if not scopes:
            return wire_errors.google_api(400, "Scope required.")
        lifetime = _lifetime(body.get("lifetime", "3600s"))
        if lifetime is None:
            return wire_errors.google_api(
                400,
                f"The lifetime {body.get('lifetime')!r} must be a duration in seconds up to {MAX_LIFETIME_S}s.",
            )
        now = controls.now()
        lifetime = min(lifetime, controls.token_lifetime_s)
        token = mint_access_token(
            keys,
            issuer="https://iamcredentials.googleapis.com",
            principal=f"serviceAccount:{target.email}",
            members=[f"serviceAccount:{target.email}"],
            scopes=list(scopes),
            now=now,
            lifetime_s=lifetime,
        )
        expire = datetime.datetime.fromtimestamp(int(now) + lifetime, datetime.UTC)
        return jsonify({"accessToken": token, "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%SZ")})

    @service.route(
        "/v1/projects/<project>/serviceAccounts/<account>:generateIdToken",
        "generateIdToken",
        methods=["POST"],
    )
    def generate_id_token(project: str, account: str) -> Response:
        outcome = authorize(account, "iam.serviceAccounts.getOpenIdToken")
        if isinstance(outcome, Response):
            return outcome
        _, target = outcome
        body = request.get_json(silent=True) or {}
        audience = body.get("audience", "")
        if not audience:
            return wire_errors.google_api(400, "Audience required.")
        token = mint_id_token(
            keys,
            account=target,
            audience=audience,
            now=controls.now(),
            lifetime_s=id_token_lifetime_s(controls),
            include_email=bool(body.get("includeEmail", False)),
        )
        return jsonify({"token": token})

    return service


def _lifetime(value: Any) -> int | None:
    match = re.fullmatch(r"(\d+)(?:\.\d+)?s", str(value))
    if not match or not 0 < int(match.group(1)) <= MAX_LIFETIME_S:
        return None
    return int(match.group(1))
