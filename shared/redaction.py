"""Keep tokens out of logs, messages and reprs.

Every string this package puts in an exception or a log record passes through :func:`redact`,
and :class:`RedactingFilter` guards the package's loggers as a second line of defence.
"""

from __future__ import annotations

import logging
import re

# A JWT (three base64url parts, the first starting "eyJ" for '{"'), a bearer header, and the
# values of form or JSON fields that carry tokens or secrets.
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s,;\"']+")
_FIELDS = re.compile(
    r"(?i)((?:access_token|id_token|accessToken|token|subject_token|client_assertion|client_secret|"
    r"assertion|refresh_token|private_key)[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
)
REDACTED = "[redacted]"


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
