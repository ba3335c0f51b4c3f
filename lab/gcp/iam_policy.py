"""Google IAM as the lab needs it: who a bearer token is, and whether a binding covers them.

The lab's Google access tokens are JWTs signed with the ``google-access`` key whose
``members`` claim lists every IAM member string the caller matches: ``serviceAccount:EMAIL``
for a service account; for a federated identity its ``principal://`` and the
``principalSet://`` forms (whole pool, and one per mapped attribute).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.core.keys import GOOGLE_ACCESS, InvalidToken, Keys

POOL_PREFIX = "//iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}"


@dataclass(frozen=True)
class Identity:
    """A caller authenticated by a lab Google access token."""

    principal: str  # serviceAccount:EMAIL or principal://...
    members: frozenset[str]
    scopes: tuple[str, ...]


class Unauthenticated(Exception):
    """No, or no valid, bearer token: Google answers 401 UNAUTHENTICATED."""


def federated_members(
    project_number: str, pool_id: str, subject: str, attributes: dict[str, str]
) -> list[str]:
    """The member strings a federated identity matches, as IAM evaluates them."""
    pool = POOL_PREFIX.format(number=project_number, pool=pool_id)
    members = [f"principal:{pool}/subject/{subject}", f"principalSet:{pool}/*"]
    members += [f"principalSet:{pool}/attribute.{name}/{value}" for name, value in sorted(attributes.items())]
    return members


def mint_access_token(
    keys: Keys,
    *,
    issuer: str,
    principal: str,
    members: list[str],
    scopes: list[str],
    now: float,
    lifetime_s: int,
) -> str:
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": principal,
        "members": members,
        "scope": " ".join(scopes),
        "iat": int(now),
        "exp": int(now) + lifetime_s,
    }
    return keys.mint(GOOGLE_ACCESS, claims)


def identity_from_header(keys: Keys, now: float, authorization: str | None) -> Identity:
    """Authenticate ``Authorization: Bearer <token>`` or raise :class:`Unauthenticated`."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated(
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential."
        )
    token = authorization[7:].strip()
    try:
        claims = keys.decode(token, GOOGLE_ACCESS)
    except InvalidToken as exc:
        raise Unauthenticated(
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential."
        ) from exc
    if claims.get("exp", 0) <= now:
        raise Unauthenticated("Request had invalid authentication credentials. The access token has expired.")
    return Identity(
        principal=str(claims["sub"]),
        members=frozenset(claims.get("members", [])),
        scopes=tuple(str(claims.get("scope", "")).split()),
    )


def is_member(identity: Identity, members: set[str]) -> bool:
    """Whether a binding's members cover ``identity`` (``allAuthenticatedUsers`` covers everyone)."""
    return bool(members & identity.members) or "allAuthenticatedUsers" in members
