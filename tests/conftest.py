"""One lab per test session, a healthy lab for every test, and a loopback-only network.

The lab starts in ``pytest_sessionstart``, before test modules are imported, because
google-auth reads ``GCE_METADATA_HOST`` when its metadata module is first imported.

Network guard: pytest-socket refuses connections to anything but loopback, and name
resolution of anything but loopback names is refused and recorded here (a DNS query is a
packet too). Any refused attempt fails the test during which it happened — including ones
made by background threads such as google-auth's Regional Access Boundary lookup.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
from collections.abc import Iterator

import pytest

from lab.azure.azurite import AzuriteNotInstalled
from lab.core import processes
from lab.core.runtime import Lab
from lab.hosting.functions import FunctionProcess, cloud_function_settings, function_app_settings, process_env
from tests.support import orphans
from tests.support.loopback import forget_refused, loopback_only_getaddrinfo, refused_hosts
from tests.support.retries import FAST_FUNCTION_RETRIES

_lab: Lab | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Entrypoints loaded in this process start without a warm start, so a test sees exactly the
    # hops its own requests cause; tests/test_warm_start.py turns it on (and function processes
    # started by the e2e tests have it on: their environment is built afresh by process_env).
    os.environ.setdefault("FEDERATION_WARM_START", "0")
    # pytest-socket (``--allow-hosts`` in pyproject.toml) refuses non-loopback connections
    # during tests; name resolution is refused here for the whole run.
    socket.getaddrinfo = loopback_only_getaddrinfo
    # The leak check below records every logger at DEBUG; the lab's CEL engine would log each
    # evaluation step (claims, never tokens) and slow every exchange down.
    logging.getLogger("celpy").setLevel(logging.WARNING)
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: pytest_sessionfinish stops the lab
    # and Azurite instead of the interpreter ending with them still running.
    processes.exit_on_sigterm()
    # Orphans of anything the tests start are re-parented to this process, so the session can
    # count what it left behind (pytest_sessionfinish).
    orphans.become_subreaper()


def pytest_sessionstart(session: pytest.Session) -> None:
    global _lab
    try:
        _lab = Lab().start()
    except AzuriteNotInstalled as exc:  # one line naming what to install, not an INTERNALERROR
        pytest.exit(f"the lab cannot start: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    os.environ.update(_lab.env())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _lab is not None:
        _lab.stop()
    # Nothing left behind: every process the tests started (and every orphan of one) has stopped.
    left = orphans.left_behind(set())
    if left:
        print(f"\nthe test session left {len(left)} process(es) running (now killed):", file=sys.stderr)
        for command in sorted(left.values()):
            print(f"  {command[:200]}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The running lab (started once per session)."""
    assert _lab is not None, "the lab did not start"
    return _lab


class _Records(logging.Handler):
    """Keeps every log record of a test, from every logger, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        self.messages.append((record.name, text))


@pytest.fixture(autouse=True)
def no_token_in_logs() -> Iterator[None]:
    """Fail any test during which a token or secret the lab handed out appeared in a log record."""
    assert _lab is not None
    records = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(records)
        root.setLevel(level)
    secrets = _lab.minted()
    leaked = [logger for logger, message in records.messages if any(secret in message for secret in secrets)]
    assert not leaked, (
        f"{len(leaked)} log record(s) carried a token or secret, from loggers {sorted(set(leaked))}"
    )


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


# -- the functions, served over HTTP (e2e) ----------------------------------------------------


@pytest.fixture(scope="session")
def function_key() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def cloud_function(lab: Lab) -> Iterator[FunctionProcess]:
    """The Cloud Function under functions-framework, one instance for the session."""
    env = process_env(lab, cloud_function_settings(lab), **FAST_FUNCTION_RETRIES)
    with FunctionProcess.cloud_function(env) as process:
        yield process


@pytest.fixture(scope="session")
def function_app(lab: Lab, function_key: str) -> Iterator[FunctionProcess]:
    """The Function App under the local Functions host, one instance for the session."""
    env = process_env(
        lab, function_app_settings(lab), LOCAL_FUNCTION_KEY=function_key, **FAST_FUNCTION_RETRIES
    )
    with FunctionProcess.function_app(env) as process:
        yield process
