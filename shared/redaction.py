"""Keep tokens out of logs, messages and reprs: redact by a secret's shape and by the field it sits in.

Every string this package puts in an exception or a log record passes through :func:`redact`,
and :class:`RedactingFilter` guards the package's loggers as a second line of defence.

A value is redacted when it *looks* like a credential, wherever it is:

* a JWT or JWE (base64url of ``{"`` is ``eyJ``: Google ID tokens, Entra access tokens, assertions);
* a PEM private key block (a service-account key file's ``private_key``), whole or cut short;
* a Google OAuth access token (``ya29.``);
* an Entra client secret (three characters, a version digit, ``Q~``, then 31-34 more: the shape
  Microsoft's own scanners look for, ``AadClientAppIdentifiableCredentials`` in
  https://github.com/microsoft/security-utilities);
* a long opaque run (32+ characters of base64url with upper case, lower case and digits);

or when it is the *value of a credential field*: ``client_assertion=…`` in a form or query,
``"access_token": "…"`` in JSON or a Python repr, the credential of an ``Authorization`` scheme
(``Bearer …``, ``Basic …``), or a credential header (``X-IDENTITY-HEADER: …``).

Never by the word before it: ``"Google ID token: fetch a fresh one"`` is prose and stays as it is.
What may be shown of a token is its claims: :func:`shown_claims` picks them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# The claims errors, traces and doctor show of a token: who issued it, for whom, to whom, until when.
SHOWN_CLAIMS = ("iss", "sub", "aud", "exp", "tid", "oid", "email")

# Field names whose values are credentials (form fields, JSON keys; case-insensitive).
SECRET_FIELDS = (
    "access_token", "accessToken", "id_token", "idToken", "refresh_token", "refreshToken",
    "subject_token", "subjectToken", "actor_token", "actorToken", "client_assertion", "clientAssertion",
    "client_secret", "clientSecret", "assertion", "private_key", "privateKey", "password", "secret",
    "token", "jwt",
)  # fmt: skip
# Query parameters that carry credentials (an Azure Functions key, a SAS signature), only after ``?``/``&``.
SECRET_QUERY = ("code", "sig", "key")
# Headers that carry a credential as their whole value.
SECRET_HEADERS = ("x-identity-header", "x-functions-key", "x-ms-client-secret")

_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_FIELDS, key=len, reverse=True))
_KEYS = "|".join(re.escape(name) for name in (*SECRET_HEADERS, "authorization", *SECRET_FIELDS))

# -- shapes ---------------------------------------------------------------------------------
_PEM = re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL)
_JWT = re.compile(r"eyJ[\w-]{2,}\.[\w-]{2,}\.[\w.-]*")
_GOOGLE_ACCESS_TOKEN = re.compile(r"\bya29\.[\w.-]+")
_ENTRA_SECRET = re.compile(r"(?<![\w~.-])[\w~.-]{3}[0-9]Q~[\w~.-]{31,34}(?![\w~.-])")
_OPAQUE = re.compile(r"(?<![\w~.+/-])[\w~-]{32,}(?![\w~.+/-])")

# -- fields ---------------------------------------------------------------------------------
# form or query: ``name=value`` where the name starts the text or follows ``?``, ``&``, ``;`` or space
_FORM = re.compile(rf"(?i)((?:^|(?<=[?&;\s,{{(]))(?:{_NAMES})=)[^&\s\"'<>,;)}}]+")
_QUERY = re.compile(rf"(?i)((?<=[?&])(?:{'|'.join(SECRET_QUERY)})=)[^&\s\"'<>,;)}}]+")
# JSON or a Python repr: a quoted key, a colon, a quoted value
_MAPPING = re.compile(
    rf"(?i)((?P<q>[\"'])(?:{_KEYS})(?P=q)\s*:\s*(?P<v>[\"']))(?:(?!(?P=v))[^\\]|\\.)*(?P=v)"
)
_SCHEME = re.compile(r"(?i)\b((?:bearer|basic|sharedkey|pop)\s+)([\w.~+/-]+=*)")
_HEADER = re.compile(rf"(?i)\b((?:{'|'.join(map(re.escape, SECRET_HEADERS))})\s*:\s*)[^\s,;\"']+")


def _opaque(match: re.Match[str]) -> str:
    value = match.group(0)
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    return REDACTED if mixed and any(c.isdigit() for c in value) else value


def _credential(match: re.Match[str]) -> str:
    """A scheme's credential is redacted when it looks like one: 16+ characters, letters and digits
    (not ``Bearer tokens are ...``)."""
    value = match.group(2)
    if len(value) < 16 or not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return match.group(0)
    return match.group(1) + REDACTED


def _mapping(match: re.Match[str]) -> str:
    quote = match.group("v")
    return f"{match.group(1)}{REDACTED}{quote}"


def redact(text: str) -> str:
    """``text`` with every credential-shaped value, and every credential field's value, replaced by
    ``[redacted]``. Idempotent; text without credentials comes back unchanged."""
    text = _PEM.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _GOOGLE_ACCESS_TOKEN.sub(REDACTED, text)
    text = _ENTRA_SECRET.sub(REDACTED, text)
    text = _MAPPING.sub(_mapping, text)
    text = _FORM.sub(lambda m: m.group(1) + REDACTED, text)
    text = _QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SCHEME.sub(_credential, text)
    text = _HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    return _OPAQUE.sub(_opaque, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def package_logger(name: str) -> logging.Logger:
    """A logger of this package, with the redacting filter attached once."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


def shown_claims(token: str) -> dict[str, Any]:
    """The :data:`SHOWN_CLAIMS` of a JWT, read without verification (the token itself is not kept)."""
    from google.auth import jwt  # loaded by google-auth already wherever a token is at hand

    decoded = jwt.decode(token, verify=False)
    return {name: decoded[name] for name in SHOWN_CLAIMS if name in decoded}


def claims_text(claims: Mapping[str, Any], names: Iterable[str]) -> str:
    """``name=value, ...`` for those of ``names`` that ``claims`` has, for a message."""
    return ", ".join(f"{name}={claims[name]}" for name in names if name in claims)
