"""Private files that hold tokens: written atomically with mode 0600, and one writer at a time.

A reader (an SDK that re-reads ``AZURE_FEDERATED_TOKEN_FILE``, a Google library reading an
executable's ``output_file``) sees the old file or the new one, never half of one: the new
content goes to a temporary file in the same directory, is flushed to disk, and replaces the
old one with ``os.replace`` (an atomic rename on POSIX). The kubelet writes projected
service-account tokens the same way (a rename, not an in-place write).

:func:`locked` serialises writers across processes with ``flock`` on a ``<path>.lock`` file
beside the target: the cross-process single flight of the executable and of one-shot renewals.
POSIX only (Linux hosts: Functions, App Service, AKS, Cloud Run).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is readable by its owner only (0600)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(handle, PRIVATE_MODE)  # before any byte of the token is written
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` (on ``<path>.lock``) across processes while the block runs."""
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
