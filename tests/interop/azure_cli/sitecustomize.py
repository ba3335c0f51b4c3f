"""Loaded by the Azure CLI's Python (PYTHONPATH) in the interop tests: the loopback guard.

The CLI resolves names with ``socket.getaddrinfo``; anything but a loopback name is refused,
and the name is printed on stderr after ``LOOPBACK_REFUSED`` so the test fails (the CLI's
defaults point at login.microsoftonline.com and management.azure.com; the lab's custom
cloud must replace every one of them).
"""

import socket
import sys

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "ip6-localhost"}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and str(name).lower() not in _LOOPBACK and not str(name).startswith("127."):
        sys.stderr.write(f"LOOPBACK_REFUSED {name}\n")
        raise OSError(f"interop tests are loopback-only: refused to resolve {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only
