"""Processes a test run leaves behind, counted by the kernel rather than by our own bookkeeping.

The test process makes itself a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``,
https://man7.org/linux/man-pages/man2/prctl.2.html): a process orphaned by anything the tests start
is re-parented to the test process instead of init, so a leftover shows up as a live child here.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants; False where the OS has no such thing."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def children(parent: int | None = None) -> dict[int, str]:
    """Live (not zombie) children of ``parent`` (default: this process): pid -> command line."""
    parent = os.getpid() if parent is None else parent
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            found[int(entry)] = command
    return found


def left_behind(before: set[int], wait_s: float = 10.0) -> dict[int, str]:
    """Children that are not in ``before`` and still alive after up to ``wait_s``; each is killed
    (so it does not outlive the run) and returned: pid -> command line."""
    deadline = time.monotonic() + wait_s
    while True:
        left = {pid: cmd for pid, cmd in children().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    return left
