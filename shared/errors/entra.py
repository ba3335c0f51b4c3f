"""Microsoft Entra ID's refusals (``AADSTSnnnnn``) as :class:`shared.errors.EntraRefusal`, with the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ClientAuthenticationError

from shared.errors.base import (
    EntraRefusal,
    FederationError,
    UpstreamUnavailable,
    body_text,
    is_unavailable,
    json_body,
)


@dataclass(frozen=True)
class _Aadsts:
    meaning: str
    fix: str


# What each AADSTS code means for this federation, and what to change. ``{client_id}``,
# ``{tenant_id}``, ``{assertion}`` and ``{setting_*}`` are filled from the request's context.
AADSTS: dict[int, _Aadsts] = {
    90002: _Aadsts("the tenant was not found", "set AZURE_TENANT_ID to your directory (tenant) ID, a GUID."),
    90013: _Aadsts("the request had an invalid input", "check AZURE_TENANT_ID and AZURE_CLIENT_ID."),
    700016: _Aadsts(
        "the application {client_id} was not found in tenant {tenant_id}",
        "set AZURE_CLIENT_ID to the app registration's Application (client) ID, in the tenant named by "
        "AZURE_TENANT_ID.",
    ),
    7000112: _Aadsts("the application is disabled", "enable the app registration's service principal."),
    70021: _Aadsts(
        "no federated identity credential on app {client_id} matches the assertion ({assertion})",
        "add a federated identity credential with exactly this issuer, subject and audience to the app "
        "registration (subject = the Google service account's numeric unique ID), or set GOOGLE_ID_TOKEN_AUDIENCE "
        "to the credential's audience.",
    ),
    700211: _Aadsts(
        "no federated identity credential on app {client_id} trusts the assertion's issuer ({assertion})",
        "the federated credential's issuer must be exactly https://accounts.google.com.",
    ),
    700212: _Aadsts(
        "no federated identity credential on app {client_id} accepts the assertion's audience ({assertion})",
        "set GOOGLE_ID_TOKEN_AUDIENCE to the federated credential's audience (normally "
        "api://AzureADTokenExchange).",
    ),
    700213: _Aadsts(
        "no federated identity credential on app {client_id} matches the assertion's subject ({assertion})",
        "set the federated credential's subject to the service account's numeric unique ID (not its e-mail).",
    ),
    7002138: _Aadsts(
        "the assertion's subject matches a federated credential only if case is ignored ({assertion})",
        "subjects are case-sensitive: copy the subject exactly into the federated credential.",
    ),
    70025: _Aadsts(
        "app {client_id} has no federated identity credentials",
        "add a federated identity credential for the Google service account to the app registration.",
    ),
    700024: _Aadsts(
        "the client assertion is outside its valid time range",
        "a stale or future-dated Google ID token: fetch a fresh one per request (this library does) and "
        "check the machine's clock.",
    ),
    50027: _Aadsts(
        "the client assertion is not a valid JWT",
        "the Google ID token source returned something that is not an ID token: check GOOGLE_ID_TOKEN_SOURCE.",
    ),
    700027: _Aadsts(
        "the client assertion's signature could not be verified",
        "the assertion must be a Google-signed ID token (metadata server, key file or generateIdToken).",
    ),
    7000215: _Aadsts(
        "the client secret is invalid", "set AZURE_CLIENT_SECRET to the secret's value (not its ID)."
    ),
    7000222: _Aadsts(
        "the client secret has expired", "create a new client secret and update AZURE_CLIENT_SECRET."
    ),
    7000218: _Aadsts(
        "the request carried neither a client assertion nor a client secret",
        "configure a credential source (GOOGLE_ID_TOKEN_SOURCE, or AZURE_CLIENT_SECRET for local development).",
    ),
    500011: _Aadsts(
        "the resource {resource} has no service principal in the tenant",
        "for Azure -> Google, AZURE_TOKEN_AUDIENCE must be the identifier URI of the audience app, and the app "
        "needs a service principal in the tenant; for an Azure SDK scope, use '<resource>/.default'.",
    ),
    70011: _Aadsts("the scope is invalid", "a client-credentials scope must be '<resource>/.default'."),
    1002012: _Aadsts("the scope is invalid", "a client-credentials scope must be '<resource>/.default'."),
    70003: _Aadsts("the grant type is not supported", "use client credentials with a client assertion."),
    53003: _Aadsts(
        "Conditional Access blocked the sign-in",
        "exclude this workload identity from the Conditional Access policy, or satisfy it.",
    ),
}

_AADSTS_CODE = re.compile(r"AADSTS(\d+)")
_CORRELATION = re.compile(r"Correlation ID:\s*([0-9a-fA-F-]{36})")


def entra_refusal(
    body: str | Mapping[str, Any] | None,
    *,
    status: int | None,
    context: Mapping[str, str],
    fallback: str = "",
    hop: str = "entra.token",
) -> FederationError:
    """Translate an Entra token-endpoint error body into an :class:`EntraRefusal`.

    ``hop`` is where the refusal surfaced (``azure.msi`` when a managed identity endpoint relayed it).

    ``context`` fills the table's placeholders: ``client_id``, ``tenant_id``, ``assertion``
    (the assertion's ``iss``/``sub``/``aud``, never the assertion itself).
    """
    data = json_body(body)
    description = str(data.get("error_description") or fallback or data.get("error") or "")
    codes = data.get("error_codes") or [int(c) for c in _AADSTS_CODE.findall(description)[:1]]
    code = int(codes[0]) if codes else None
    correlation = data.get("correlation_id") or _first(_CORRELATION.findall(description))
    short = description.split(" Trace ID:")[0]
    if is_unavailable(status):
        return UpstreamUnavailable(
            short or "Entra ID is unavailable", hop=hop, code=_aadsts(code), status=status
        )
    entry = AADSTS.get(code) if code is not None else None
    values = {"client_id": "?", "tenant_id": "?", "assertion": "?", "resource": "?", **context}
    if entry is None:
        return EntraRefusal(
            short or "Entra ID refused the token request",
            hop=hop,
            fix="see the AADSTS code's documentation; check AZURE_TENANT_ID and AZURE_CLIENT_ID.",
            code=_aadsts(code) or data.get("error"),
            status=status,
            correlation_id=correlation,
        )
    return EntraRefusal(
        f"Entra ID: {entry.meaning.format_map(values)}. Upstream said: {short}",
        hop=hop,
        fix=entry.fix.format_map(values),
        code=_aadsts(code),
        status=status,
        correlation_id=correlation,
    )


def entra_refusal_of(
    exc: ClientAuthenticationError,
    *,
    context: Mapping[str, str],
    fallback: str | None = None,
    hop: str = "entra.token",
) -> FederationError:
    """:func:`entra_refusal` of what azure-identity raised: its response's status and body.

    ``fallback`` (default: the exception's message) stands in when the body carries no description.
    """
    response = exc.response
    status = getattr(response, "status_code", None) if response is not None else None
    return entra_refusal(
        body_text(response),
        status=status,
        context=context,
        fallback=str(exc.message or "") if fallback is None else fallback,
        hop=hop,
    )


def _aadsts(code: int | None) -> str | None:
    return f"AADSTS{code}" if code is not None else None


def _first(items: Sequence[str]) -> str | None:
    return items[0] if items else None
