"""Keep tokens out of logs, messages and reprs.

Every string this package puts in an exception or a log record passes through :func:`redact`,
and :class:`RedactingFilter` guards the package's loggers as a second line of defence. What may be
shown of a token is its claims: :func:`shown_claims` picks them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

# A JWT (three base64url parts, the first starting "eyJ" for '{"'), a bearer header, and the
# values of form or JSON fields that carry tokens or secrets.
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s,;\"']+")
_FIELDS = re.compile(
    r"(?i)((?:access_token|id_token|accessToken|token|subject_token|client_assertion|client_secret|"
    r"assertion|refresh_token|private_key)[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
)
REDACTED = "[redacted]"
# The claims errors, traces and doctor show of a token: who issued it, for whom, to whom, until when.
SHOWN_CLAIMS = ("iss", "sub", "aud", "exp", "tid", "oid", "email")


def redact(text: str) -> str:
    """``text`` with every token-shaped value replaced by ``[redacted]``."""
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _FIELDS.sub(lambda m: m.group(1) + REDACTED, text)


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
