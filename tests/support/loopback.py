"""Name resolution for loopback names only; every refused name is recorded."""

from __future__ import annotations

import socket
import threading
from typing import Any

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "ip6-localhost"}

_refused: list[str] = []
_refused_lock = threading.Lock()
_real_getaddrinfo = socket.getaddrinfo


class NonLoopbackRefused(OSError):
    """The test suite refuses to resolve or reach anything but loopback."""


def loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and str(name).lower() not in LOOPBACK_NAMES and not str(name).startswith("127."):
        with _refused_lock:
            _refused.append(str(name))
        raise NonLoopbackRefused(f"test suite is loopback-only: refused to resolve {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def refused_hosts() -> list[str]:
    with _refused_lock:
        return list(_refused)


def forget_refused() -> None:
    with _refused_lock:
        _refused.clear()
