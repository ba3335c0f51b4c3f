"""The lab's per-hop trace: every request an emulator served, as the server saw it.

Each record holds the hop, the status, the milliseconds and the claims that matter
(``iss``, ``sub``, ``aud``, ``exp``) of the token that hop was about: the one presented
(a subject token, a client assertion or a bearer token) or, for a token source such as the
metadata server or the managed identity endpoint, the one it issued. Never the token itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import jwt
from flask import Request, Response

CLAIMS = ("iss", "sub", "aud", "exp")
# Where a request carries the token the hop is about, in order of preference.
_PRESENTED_FIELDS = ("subject_token", "client_assertion", "assertion")
_ISSUED_FIELDS = ("access_token", "accessToken", "token", "id_token")
_LARGEST_BODY = 64 * 1024


@dataclass(frozen=True)
class ServedHop:
    """One request to one emulated endpoint."""

    hop: str
    method: str
    path: str
    status: int
    ms: float
    token: str = ""  # which token the claims are from: presented field, "bearer" or "issued"
    claims: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Trace:
    """A bounded, thread-safe log of :class:`ServedHop` (the newest 2,000)."""

    def __init__(self, size: int = 2000) -> None:
        self._lock = threading.Lock()
        self._records: deque[ServedHop] = deque(maxlen=size)

    def add(self, record: ServedHop) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[ServedHop]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def record(hop: str, request: Request, response: Response, started: float) -> ServedHop:
    """The trace record of a finished request."""
    source, claims = _presented(request)
    if not claims:
        source, claims = "issued", _issued(response)
    return ServedHop(
        hop=hop,
        method=request.method,
        path=request.path,
        status=response.status_code,
        ms=round((time.perf_counter() - started) * 1000, 1),
        token=source if claims else "",
        claims=claims,
    )


def _presented(request: Request) -> tuple[str, dict[str, Any]]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        claims = _claims(header[7:].strip())
        if claims:
            return "bearer", claims
    if request.mimetype == "application/x-www-form-urlencoded":
        for name in _PRESENTED_FIELDS:
            claims = _claims(request.form.get(name, ""))
            if claims:
                return name, claims
    return "", {}


def _issued(response: Response) -> dict[str, Any]:
    if response.is_streamed or response.direct_passthrough:
        return {}
    body = response.get_data()
    if not body or len(body) > _LARGEST_BODY:
        return {}
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("eyJ"):  # the metadata server's identity endpoint answers with the bare JWT
        return _claims(text)
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if isinstance(data, dict):
        for name in _ISSUED_FIELDS:
            if isinstance(data.get(name), str):
                return _claims(data[name])
    return {}


def _claims(token: str) -> dict[str, Any]:
    if not token.startswith("eyJ"):
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return {name: claims[name] for name in CLAIMS if name in claims}
