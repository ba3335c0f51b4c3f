"""One lab per test session, a healthy lab for every test, and a loopback-only network.

The lab starts in ``pytest_sessionstart``, before test modules are imported, because
google-auth reads ``GCE_METADATA_HOST`` when its metadata module is first imported.

Network guard: pytest-socket refuses connections to anything but loopback, and name
resolution of anything but loopback names is refused and recorded here (a DNS query is a
packet too). Any refused attempt fails the test during which it happened — including ones
made by background threads such as google-auth's Regional Access Boundary lookup.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lab.runtime import Lab

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "ip6-localhost"}

_lab: Lab | None = None
_refused: list[str] = []
_refused_lock = threading.Lock()
_real_getaddrinfo = socket.getaddrinfo


class NonLoopbackRefused(OSError):
    """The test suite refuses to resolve or reach anything but loopback."""


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
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


def pytest_configure(config: pytest.Config) -> None:
    # pytest-socket (``--allow-hosts`` in pyproject.toml) refuses non-loopback connections
    # during tests; name resolution is refused here for the whole run.
    socket.getaddrinfo = _loopback_only_getaddrinfo


def pytest_sessionstart(session: pytest.Session) -> None:
    global _lab
    _lab = Lab().start()
    os.environ.update(_lab.env())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _lab is not None:
        _lab.stop()


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The running lab (started once per session)."""
    assert _lab is not None, "the lab did not start"
    return _lab


@pytest.fixture(autouse=True)
def healthy_lab() -> Iterator[None]:
    """Every test starts on a healthy lab with its default topology and zero counters,
    and fails if anything tried to leave loopback while it ran."""
    assert _lab is not None
    topology = _lab.topology_now()
    _lab.reset()
    forget_refused()
    yield
    _lab.set_topology(topology)
    _lab.reset()
    refused = refused_hosts()
    forget_refused()
    assert not refused, f"something tried to leave loopback during this test: {sorted(set(refused))}"
