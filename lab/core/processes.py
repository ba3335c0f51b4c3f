"""Child processes the lab, the demo and the benchmarks start: each in a process group of its own,
on a free port it is waited for.

Every child starts a new session (so a terminal's Ctrl-C, sent to the foreground process group,
reaches only the parent, which then stops its children in order), and is stopped as a group:
SIGTERM to the group, SIGKILL to whatever is left after a grace period. A host that forks
workers (functions-framework's gunicorn) is stopped with its workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

Process = subprocess.Popen[str] | subprocess.Popen[bytes]


def spawn(command: list[str], **options: Any) -> Any:
    """``subprocess.Popen(command, **options)`` as the leader of a new session and process group."""
    return subprocess.Popen(command, start_new_session=True, **options)  # noqa: S603 - callers pass fixed argv


def _signal_group(process: Process, signum: int) -> bool:
    """Signal the process's group; False when no process of the group is left."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # not a group leader we own: signal the process alone
        if process.poll() is None:
            process.send_signal(signum)
    return True


def _group_alive(process: Process) -> bool:
    return _signal_group(process, 0)


def stop(process: Process | None, timeout_s: float = 5) -> None:
    """SIGTERM to the process group, SIGKILL to what is left after ``timeout_s``; reap the leader.

    A no-op for ``None``; safe to call twice. Members of the group that outlive the leader
    (workers of a host that died) are killed too.
    """
    if process is None:
        return
    if process.poll() is None or _group_alive(process):
        _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and (process.poll() is None or _group_alive(process)):
            time.sleep(0.02)
        _signal_group(process, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
        process.wait(timeout=timeout_s)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP while cleaning up, then deliver the first one that came.

    A second Ctrl-C during a stop would otherwise abandon the children not yet stopped. Off the
    main thread (where Python cannot set handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.getsignal(signum) for signum in held}
    for signum in held:
        signal.signal(signum, lambda number, _frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


def exit_on_sigterm() -> None:
    """Make SIGTERM and SIGHUP unwind like Ctrl-C (``finally`` blocks run, children are stopped)
    instead of ending the interpreter on the spot.

    SIGHUP is what a closed terminal or a dropped SSH session sends; its default action ends the
    process without cleanup, leaving Azurite (in a session of its own) behind. Under ``nohup``
    (SIGHUP ignored) it stays ignored.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # One unwinding: a repeat must not cut the cleanup short before `uninterrupted()` holds it.
        # It comes: GNU make's fatal_error_signal() kills its children with SIGTERM after the same
        # SIGTERM reached the whole process group (`make demo` under `kill -TERM -<pgid>`).
        for held in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(held) is interrupt:
                signal.signal(held, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, interrupt)


class ProcessExited(RuntimeError):
    """The process exited before its port accepted connections."""

    def __init__(self, returncode: int) -> None:
        super().__init__(f"exited with {returncode}")
        self.returncode = returncode


def free_port() -> int:
    """A loopback TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(process: Process, port: int, timeout_s: float) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection.

    Raises :class:`ProcessExited` if ``process`` exits first, ``TimeoutError`` after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessExited(process.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"127.0.0.1:{port} did not accept connections within {timeout_s}s")
