"""``oauth2.googleapis.com/token`` for service-account key files (the JWT-bearer grant).

The lab makes a key per service account on request (:meth:`ServiceAccountKeys.key_file`),
never stored in the repository. A signed assertion with ``scope`` gets an access token; one
with ``target_audience`` gets a Google ID token, as google-auth's service-account
credentials expect.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Response, jsonify, request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import Keys
from lab.core.service import Service
from lab.core.topology import Topology
from lab.gcp.iam import mint_id_token
from lab.gcp.iam_policy import mint_access_token

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME_S = 3600
ALLOWED_SKEW_S = 300


class ServiceAccountKeys:
    """Per-run RSA keys of service accounts, by key id."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}

    def key_file(self, email: str, path: Path, token_uri: str, project_id: str) -> Path:
        """Write a service-account key file for ``email`` whose ``token_uri`` is the lab's."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = uuid.uuid4().hex
        with self._lock:
            self._by_id[key_id] = (email, private)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self._keys.remember(pem)
        info = {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": "",
            "token_uri": token_uri,
        }
        path.write_text(json.dumps(info), encoding="utf-8")
        path.chmod(0o600)
        return path

    def lookup(self, key_id: str) -> tuple[str, rsa.RSAPublicKey] | None:
        with self._lock:
            found = self._by_id.get(key_id)
        return (found[0], found[1].public_key()) if found else None


def create(
    controls: Controls, keys: Keys, accounts: ServiceAccountKeys, topology: Callable[[], Topology]
) -> Service:
    service = Service(
        "gcp.oauth2", controls, lambda status, msg: wire_errors.oauth("internal_failure", msg, status)
    )

    @service.route("/token", "token", methods=["POST"])
    def token() -> Response:
        if request.form.get("grant_type") != JWT_BEARER_GRANT:
            return wire_errors.oauth("unsupported_grant_type", "Invalid grant_type.")
        outcome = _verify(controls, accounts, request.form.get("assertion", ""))
        if isinstance(outcome, Response):
            return outcome
        email, claims = outcome
        account = topology().service_account(email)
        if account is None:
            return wire_errors.oauth("invalid_grant", "Invalid grant: account not found")
        now = controls.now()
        lifetime = min(3600, controls.token_lifetime_s)
        if claims.get("target_audience"):
            id_token = mint_id_token(
                keys,
                account=account,
                audience=str(claims["target_audience"]),
                now=now,
                lifetime_s=lifetime,
                include_email=True,
            )
            return jsonify({"id_token": id_token})
        access_token = mint_access_token(
            keys,
            issuer="https://oauth2.googleapis.com",
            principal=f"serviceAccount:{email}",
            members=[f"serviceAccount:{email}"],
            scopes=str(claims.get("scope", "")).split(),
            now=now,
            lifetime_s=lifetime,
        )
        expires_in = int(int(now) + lifetime - controls.now())  # now + expires_in <= exp
        return jsonify({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"})

    return service


def _verify(
    controls: Controls, accounts: ServiceAccountKeys, assertion: str
) -> tuple[str, dict[str, Any]] | Response:
    try:
        found = accounts.lookup(str(jwt.get_unverified_header(assertion).get("kid", "")))
    except jwt.PyJWTError:
        return wire_errors.oauth("invalid_grant", "Invalid JWT: not a JWT.")
    if found is None:
        return wire_errors.oauth("invalid_grant", "Invalid grant: account not found")
    email, public_key = found
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            public_key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_aud": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        return wire_errors.oauth("invalid_grant", "Invalid JWT Signature.")
    now = controls.now()
    issued, expires = float(claims.get("iat", 0)), float(claims.get("exp", 0))
    if (
        claims.get("iss") != email
        or not issued - ALLOWED_SKEW_S <= now < expires + ALLOWED_SKEW_S
        or expires - issued > MAX_ASSERTION_LIFETIME_S
    ):
        return wire_errors.oauth(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
            "Check your iat and exp values in the JWT claim.",
        )
    return email, claims
