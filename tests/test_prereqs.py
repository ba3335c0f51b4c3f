"""`make prereqs` names what a fresh clone is missing in one line each; `make setup` runs one at a time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make") or "make"
pytestmark = pytest.mark.lab


def path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH with every command of this one except ``missing`` (as on a machine without them)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = bin_dir / name
            if name not in missing and not target.exists() and os.access(Path(directory, name), os.X_OK):
                target.symlink_to(Path(directory, name))
    return str(bin_dir)


def prereqs(path: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKE, "--no-print-directory", "prereqs", f"PYTHON={python}"],
        cwd=ROOT, env={**os.environ, "PATH": path}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_with_everything_installed_prereqs_says_nothing() -> None:
    result = prereqs(os.environ["PATH"])

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_node_one_line_names_node_and_one_npm(tmp_path: Path) -> None:
    result = prereqs(path_without(tmp_path, "node", "npm", "npx"))

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("prereqs:")]
    assert len(lines) == 2, result.stderr
    assert "Node.js 20 or newer is needed" in lines[0] and "install Node 20 LTS" in lines[0]
    assert "npm is needed" in lines[1]
    assert "Traceback" not in result.stderr and "INTERNALERROR" not in result.stderr


def test_an_old_python_is_named_with_its_version(tmp_path: Path) -> None:
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\ncase "$*" in *platform*) echo 3.10.13;; *) exit 1;; esac\n')
    old.chmod(0o755)

    result = prereqs(os.environ["PATH"], python=str(old))

    assert result.returncode != 0
    assert result.stderr.count("prereqs:") == 1, result.stderr
    assert "Python 3.11 or newer is needed" in result.stderr and "3.10.13" in result.stderr


def test_the_setup_lock_makes_concurrent_runs_take_turns(tmp_path: Path) -> None:
    """Two holders of tools/with_lock.py's lock never overlap (what two `make demo` at once rely on)."""
    log = tmp_path / "log"
    script = f"echo start >> {log}; sleep 0.5; echo end >> {log}"
    command = [
        sys.executable,
        str(ROOT / "tools" / "with_lock.py"),
        str(tmp_path / "lock"),
        "--",
        "sh",
        "-c",
        script,
    ]
    started = time.monotonic()
    first = subprocess.Popen(command)
    second = subprocess.Popen(command)

    assert (first.wait(timeout=30), second.wait(timeout=30)) == (0, 0)
    assert log.read_text().split() == ["start", "end", "start", "end"]
    assert time.monotonic() - started >= 1.0  # one after the other


def test_setup_runs_its_installs_under_the_lock() -> None:
    dry_run = subprocess.run(
        [MAKE, "-n", "setup"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout

    assert "tools/prereqs.sh" in dry_run
    assert "tools/with_lock.py .setup.lock -- " in dry_run
