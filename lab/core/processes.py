"""Child processes the lab starts (Azurite, the functions): a free port, waiting for it, stopping."""

from __future__ import annotations

import socket
import subprocess
import time


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes] | None, timeout_s: float = 5) -> None:
    """SIGTERM, and SIGKILL if it is still running after ``timeout_s``; no-op if it already exited."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


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


def wait_for_port(
    process: subprocess.Popen[str] | subprocess.Popen[bytes], port: int, timeout_s: float
) -> None:
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
