"""Signing keys per issuer, JWT minting and checking, and a ledger of every token minted.

Tokens carry the real issuer strings (``https://accounts.google.com``,
``https://sts.windows.net/<tenant>/`` ...); the lab maps each issuer to a signing key of its
own, generated per run. The ledger lets tests prove that no minted token leaks.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

GOOGLE = "google"  # ID tokens from https://accounts.google.com
ENTRA = "entra"  # every token Entra ID signs, v1 and v2, any tenant
GOOGLE_ACCESS = "google-access"  # the lab's stand-in for Google's opaque access tokens
KUBERNETES = "kubernetes"  # AKS clusters' service-account tokens (lab.azure.aks)
AKS_ISSUER_HOST_SUFFIX = ".oic.prod-aks.azure.com"

ENTRA_V1_PREFIXES = ("https://sts.windows.net/", "https://sts.chinacloudapi.cn/")
ENTRA_V2_PREFIXES = (
    "https://login.microsoftonline.com/",
    "https://login.microsoftonline.us/",
    "https://login.chinacloudapi.cn/",
)


class InvalidToken(Exception):
    """A JWT that is malformed or whose signature does not verify."""

    def __init__(self, reason: str, *, malformed: bool) -> None:
        super().__init__(reason)
        self.malformed = malformed


def family_of_issuer(issuer: str) -> str | None:
    """The key family that signs tokens of ``issuer``, or None for an issuer the lab is not."""
    if issuer == "https://accounts.google.com":
        return GOOGLE
    if issuer.startswith(ENTRA_V1_PREFIXES + ENTRA_V2_PREFIXES):
        return ENTRA
    if issuer.startswith("https://") and issuer[len("https://") :].split("/")[0].endswith(
        AKS_ISSUER_HOST_SUFFIX
    ):
        return KUBERNETES
    return None


class Keys:
    """One RSA key per family; mints RS256 JWTs and remembers each one."""

    def __init__(self) -> None:
        self._private = {
            family: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for family in (GOOGLE, ENTRA, GOOGLE_ACCESS, KUBERNETES)
        }
        self._kid = {family: uuid.uuid4().hex[:16] for family in self._private}
        self._lock = threading.Lock()
        self._minted: list[str] = []

    def mint(
        self, family: str, claims: dict[str, Any], *, extra_headers: dict[str, str] | None = None
    ) -> str:
        headers = {"kid": self._kid[family], "typ": "JWT", **(extra_headers or {})}
        # A unique id, as real tokens carry (Entra's uti, Google's signatures over distinct
        # claims): two tokens minted in the same second must not be byte-identical.
        claims = {"jti": uuid.uuid4().hex, **claims}
        token = jwt.encode(claims, self._private[family], algorithm="RS256", headers=headers)
        with self._lock:
            self._minted.append(token)
        return token

    def remember(self, token: str) -> None:
        """Record a non-JWT secret the lab handed out (a generated client secret)."""
        with self._lock:
            self._minted.append(token)

    def minted(self) -> list[str]:
        """Every token and secret the lab has handed out in this run."""
        with self._lock:
            return list(self._minted)

    def jwks(self, family: str) -> dict[str, Any]:
        public = self._private[family].public_key()
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        jwk.update({"kid": self._kid[family], "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def decode(self, token: str, family: str | None) -> dict[str, Any]:
        """Verify the signature with ``family``'s key and return the claims.

        Times, audience and issuer are the caller's to check, against the lab clock.
        """
        try:
            header = jwt.get_unverified_header(token)
            unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a JWT: {exc}", malformed=True) from exc
        if family is None or header.get("kid") != self._kid[family]:
            raise InvalidToken("signed by a key the issuer does not publish", malformed=False)
        try:
            verified: dict[str, Any] = jwt.decode(
                token,
                self._private[family].public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"signature check failed: {exc}", malformed=False) from exc
        assert verified == unverified
        return verified
