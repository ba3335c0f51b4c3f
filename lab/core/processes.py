"""Child processes the lab starts (Azurite, the functions): stopped the same way."""

from __future__ import annotations

import subprocess


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
