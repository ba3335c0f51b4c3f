"""Run a command while holding an exclusive lock on a file, so concurrent runs take turns.

``make setup`` runs its installs through this: two ``make demo`` started at once on a fresh
clone would otherwise both create ``.venv`` and one would find it half made ("No module named
pip"). POSIX ``fcntl.flock`` (Linux and macOS); the lock is released when the process exits,
however it exits::

    python tools/with_lock.py .setup.lock -- make install
"""

from __future__ import annotations

import fcntl
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: with_lock.py LOCKFILE -- COMMAND...", file=sys.stderr)
        return 2
    path, command = argv[0], argv[2:]
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return subprocess.call(command)  # noqa: S603 - the caller's own command line


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
