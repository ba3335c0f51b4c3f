"""Google Security Token Service: RFC 8693 token exchange against a workload identity provider.

Checks the subject JWT as the pool provider would (issuer, signature with the issuer's keys,
allowed audiences, lifetime), evaluates the attribute mapping and the attribute condition as
real CEL, and answers with Google's ``{"error", "error_description"}`` refusals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import celpy
import jwt
from celpy.adapter import json_to_cel
from flask import Response, jsonify, request

from lab.core import wire_errors
from lab.core.controls import Controls
from lab.core.keys import InvalidToken, Keys, family_of_issuer
from lab.core.service import Service
from lab.core.topology import Topology, WorkloadIdentityPoolProvider
from lab.gcp.iam_policy import federated_members, mint_access_token

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token")
AUDIENCE = re.compile(
    r"^//iam\.googleapis\.com/projects/(?P<project>[^/]+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/providers/(?P<provider>[^/]+)$"
)
ALLOWED_SKEW_S = 300
MAX_SUBJECT_BYTES = 127

_INVALID_AUDIENCE = (
    'Invalid value for "audience". This value should be the full resource name of the Identity Provider. '
    "See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats."
)
_INVALID_TARGET = (
    'The target service indicated by the "audience" parameters is invalid. This might either be because the '
    "pool or provider is disabled or deleted or because it doesn't exist."
)

_cel = celpy.Environment()


class Rejected(Exception):
    """An exchange refused with an RFC 6749 error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def create(controls: Controls, keys: Keys, topology: Callable[[], Topology]) -> Service:
    """The ``sts.googleapis.com`` stand-in (HTTPS)."""
    service = Service(
        "gcp.sts", controls, lambda status, msg: wire_errors.oauth("internal_failure", msg, status)
    )

    @service.route("/v1/token", "token", methods=["POST"])
    def token() -> Response:
        try:
            form = _request_fields()
            access_token, lifetime = _exchange(controls, keys, topology(), form)
        except Rejected as exc:
            return wire_errors.oauth(exc.error, exc.description)
        return jsonify(
            {
                "access_token": access_token,
                "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer",
                "expires_in": lifetime,
            }
        )

    return service


# The REST reference's JSON body names its fields in lowerCamelCase (grantType, subjectToken, ...:
# https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token); a proto3 JSON parser
# also accepts the proto field names (https://protobuf.dev/programming-guides/json/), and the
# OAuth 2.0 form body (RFC 8693 section 2.1) uses those snake_case names.
_JSON_FIELDS = {
    "grantType": "grant_type",
    "requestedTokenType": "requested_token_type",
    "subjectToken": "subject_token",
    "subjectTokenType": "subject_token_type",
}


def _request_fields() -> dict[str, Any]:
    """The exchange's fields from a form body (RFC 8693) or a JSON body (the REST reference)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Rejected("invalid_request", "The request body is not a JSON object.")
        return {_JSON_FIELDS.get(str(key)) or str(key): value for key, value in body.items()}
    raise Rejected(
        "invalid_request",
        f"Unsupported Content-Type {request.mimetype or '(none)'!r}: send "
        "application/x-www-form-urlencoded (RFC 8693) or application/json.",
    )


def _exchange(controls: Controls, keys: Keys, topology: Topology, form: Any) -> tuple[str, int]:
    if form.get("grant_type") != TOKEN_EXCHANGE:
        raise Rejected("unsupported_grant_type", f"Unsupported grant type: {form.get('grant_type')!r}.")
    if form.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
        raise Rejected("invalid_request", 'Invalid value for "subject_token_type".')
    if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
        raise Rejected("invalid_request", 'Invalid value for "requested_token_type".')
    match = AUDIENCE.match(form.get("audience", ""))
    if match is None:
        raise Rejected("invalid_request", _INVALID_AUDIENCE)
    provider = topology.provider(match["project"], match["pool"], match["provider"])
    if provider is None or provider.disabled or topology.pool_disabled(provider.project_id, match["pool"]):
        raise Rejected("invalid_target", _INVALID_TARGET)
    assertion = _check_subject_token(controls, keys, provider, form.get("subject_token", ""), match)
    attributes = _map_attributes(provider, assertion)
    _check_condition(provider, assertion, attributes)
    subject = attributes.pop("google.subject")
    now = controls.now()
    lifetime = int(min(controls.token_lifetime_s, float(assertion["exp"]) - now))
    members = federated_members(
        match["project"],
        match["pool"],
        subject,
        {k.removeprefix("attribute."): v for k, v in attributes.items() if k.startswith("attribute.")},
    )
    access_token = mint_access_token(
        keys,
        issuer="https://sts.googleapis.com",
        principal=members[0],
        members=members,
        scopes=str(form.get("scope", "")).split(),
        now=now,
        lifetime_s=lifetime,
    )
    # expires_in as what is left when the answer leaves, so that now + expires_in <= exp.
    return access_token, int(int(now) + lifetime - controls.now())


def _check_subject_token(
    controls: Controls,
    keys: Keys,
    provider: WorkloadIdentityPoolProvider,
    subject_token: str,
    audience: re.Match[str],
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(subject_token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Rejected("invalid_grant", "Unable to parse the ID Token.") from exc
    issuer = str(claims.get("iss", ""))
    if issuer.rstrip("/") != provider.issuer_uri.rstrip("/"):
        raise Rejected(
            "invalid_grant",
            f"The issuer in ID Token {issuer} does not match the expected ones: {provider.issuer_uri}.",
        )
    try:
        keys.decode(subject_token, family_of_issuer(issuer))
    except InvalidToken as exc:
        raise Rejected("invalid_grant", "Invalid ID Token signature.") from exc
    allowed = provider.allowed_audiences or (
        f"https://iam.googleapis.com/projects/{audience['project']}/locations/global/"
        f"workloadIdentityPools/{audience['pool']}/providers/{audience['provider']}",
    )
    token_audiences = claims.get("aud", [])
    token_audiences = token_audiences if isinstance(token_audiences, list) else [token_audiences]
    if not set(token_audiences) & set(allowed):
        raise Rejected(
            "invalid_grant",
            f"The audience in ID Token {token_audiences} does not match the expected audience {', '.join(allowed)}.",
        )
    now = controls.now()
    if float(claims.get("exp", 0)) <= now:
        raise Rejected("invalid_grant", f"ID Token expired at {claims.get('exp')}; it is now {int(now)}.")
    if float(claims.get("iat", claims.get("nbf", 0))) > now + ALLOWED_SKEW_S:
        raise Rejected(
            "invalid_grant", f"ID Token issued at {claims.get('iat')} is in the future (now {int(now)})."
        )
    return claims


def _evaluate(expression: str, activation: dict[str, Any]) -> Any:
    program = _cel.program(_cel.compile(expression))
    return program.evaluate({name: json_to_cel(value) for name, value in activation.items()})


def _map_attributes(provider: WorkloadIdentityPoolProvider, assertion: dict[str, Any]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for target, expression in provider.attribute_mapping.items():
        try:
            value = _evaluate(expression, {"assertion": assertion})
        except Exception as exc:  # celpy raises parse, evaluation and type errors alike
            raise Rejected(
                "invalid_request", f"The attribute mapping for '{target}' could not be evaluated: {exc}."
            ) from exc
        attributes[target] = str(value)
    if len(attributes["google.subject"].encode()) > MAX_SUBJECT_BYTES:
        raise Rejected(
            "invalid_request",
            f"The mapped attribute 'google.subject' exceeds the {MAX_SUBJECT_BYTES} bytes limit.",
        )
    return attributes


def _check_condition(
    provider: WorkloadIdentityPoolProvider, assertion: dict[str, Any], attributes: dict[str, str]
) -> None:
    if not provider.attribute_condition:
        return
    google = {k.removeprefix("google."): v for k, v in attributes.items() if k.startswith("google.")}
    mapped = {k.removeprefix("attribute."): v for k, v in attributes.items() if k.startswith("attribute.")}
    try:
        accepted = _evaluate(
            provider.attribute_condition, {"assertion": assertion, "google": google, "attribute": mapped}
        )
    except Exception:  # an error in the condition refuses the credential, as Google does
        accepted = False
    if not (isinstance(accepted, celpy.celtypes.BoolType) and bool(accepted)):
        raise Rejected("unauthorized_client", "The given credential is rejected by the attribute condition.")
