"""Nothing left behind: every exit path of ``python -m lab`` and ``make demo`` stops every process
they started.

The test process makes itself a child subreaper (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``,
https://man7.org/linux/man-pages/man2/prctl.2.html): a process orphaned by anything these tests
start is re-parented to the test process instead of init, so a leftover shows up as a new live
child here. Signals are sent to the subject's process group, as a terminal sends Ctrl-C to its
foreground group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.core import processes
from lab.core.runtime import Lab
from lab.hosting.functions import FunctionProcess, cloud_function_settings, process_env
from tests.support import orphans

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def subreaper() -> None:
    assert orphans.become_subreaper(), "prctl(PR_SET_CHILD_SUBREAPER) failed"


_children = orphans.children


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    """Fail if a process orphaned during the test is still alive a moment after it."""
    before = set(_children(os.getpid()))
    yield
    left = orphans.left_behind(before)
    assert not left, f"left behind: {sorted(left.values())}"


def _env() -> dict[str, str]:
    """The developer's environment, not the test session's lab settings; output unbuffered, so a
    line read here was printed then (a pipe would hold the demo's lines until it exits)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LAB_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _as_from_a_terminal() -> None:
    """Ctrl-C as a terminal's foreground job has it: a shell running a background job (as CI
    runners may run `make test`) leaves SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _subject(command: list[str], *, stderr: int = subprocess.STDOUT) -> subprocess.Popen[str]:
    """The process under test, in a group of its own, started as from a terminal."""
    process: subprocess.Popen[str] = processes.spawn(
        command,
        preexec_fn=_as_from_a_terminal,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    return process


def _lab_process() -> subprocess.Popen[str]:
    return _subject([sys.executable, "-m", "lab", "--json"], stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[str], timeout_s: float = 60) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout_s)
    finally:
        processes.stop(process)


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "hangup"]
)
def test_python_m_lab_starts_once_and_stops_everything(signum: int) -> None:
    """One Azurite, not two (``with lab.start():`` used to start the lab a second time), and
    after Ctrl-C or SIGTERM no process and no listening port is left."""
    process = _lab_process()
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    children = _children(process.pid)
    assert len(children) == 1 and "azurite-blob" in next(iter(children.values())), children
    os.killpg(process.pid, signum)
    _, stderr = _finish(process)
    assert process.returncode == 0, stderr
    assert "nanobind" not in stderr, "DuckDB objects outlived the lab"
    for url in ready["endpoints"].values():
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_python_m_lab_ctrl_c_while_starting() -> None:
    """Ctrl-C while Azurite is starting (the lab has a child, and has not said it is ready)."""
    process = _lab_process()
    deadline = time.monotonic() + 30
    while not _children(process.pid) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGINT)
    _finish(process)
    assert process.returncode is not None


def _demo(*, make: bool) -> subprocess.Popen[str]:
    command = (
        [shutil.which("make") or "make", "--no-print-directory", "demo"]
        if make
        else [sys.executable, "-m", "lab.scenarios.demo"]
    )
    return _subject(command)


@pytest.mark.e2e
@pytest.mark.usefixtures("nothing_left_behind")
def test_make_demo_runs_to_the_end_and_stops_everything() -> None:
    process = _demo(make=True)
    output, _ = _finish(process, timeout_s=180)
    assert process.returncode == 0, output[-3000:]
    assert "the functions, the lab and Azurite are stopped" in output


@pytest.mark.e2e
@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "hangup"]
)
def test_demo_interrupted_during_the_http_calls_stops_everything(signum: int) -> None:
    """Ctrl-C (or SIGTERM) once the three functions serve, during the calls: the functions'
    hosts (gunicorn and its worker included), the lab and Azurite all stop."""
    process = _demo(make=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Functions serving"):
            break
    else:
        pytest.fail(f"the demo never served its functions (exit {process.wait()})")
    time.sleep(0.3)  # into the first call
    os.killpg(process.pid, signum)
    _finish(process, timeout_s=60)
    assert process.returncode != 0  # interrupted, not finished


SIGTERM_TWICE = """
import os, signal, time
from lab.core import processes

processes.exit_on_sigterm()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
except KeyboardInterrupt:
    os.kill(os.getpid(), signal.SIGTERM)  # the repeat, while the first one's cleanup runs
    time.sleep(0.2)
    print("cleanup ran", flush=True)
"""


def test_a_repeated_sigterm_does_not_cut_the_cleanup_short() -> None:
    """GNU make forwards SIGTERM to its children after the whole group got it (fatal_error_signal()
    in make's commands.c), so `make demo` under `kill -TERM -<pgid>` gets two: the second used to
    raise again in the middle of stopping the functions, leaving them running (seen twice in full runs
    of the demo's SIGTERM test)."""
    run = subprocess.run(
        [sys.executable, "-c", SIGTERM_TWICE], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert "cleanup ran" in run.stdout, run.stderr[-2000:]


FAILING = """
import time


def test_fails(lab):
    assert lab.url("azure.blob")
    assert False, "on purpose"


def test_sleeps():
    print("sleeping", flush=True)
    time.sleep(60)
"""


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("ending", ["a-failing-test", "sigterm"])
def test_a_test_session_stops_its_lab_however_it_ends(tmp_path: Path, ending: str) -> None:
    """A pytest session with this suite's conftest (which starts the lab and Azurite): after a
    failing test, and after SIGTERM in the middle of a test, nothing it started is left."""
    tests = tmp_path / "test_ending.py"
    tests.write_text(FAILING, encoding="utf-8")
    selected = "test_fails" if ending == "a-failing-test" else "test_sleeps"
    process = _subject(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-s", "-q", f"{tests}::{selected}"]
    )
    if ending == "sigterm":
        assert process.stdout is not None
        for line in process.stdout:
            if "sleeping" in line:
                break
        os.killpg(process.pid, signal.SIGTERM)
    output, _ = _finish(process, timeout_s=90)
    assert process.returncode not in (0, None), output[-2000:]
    if ending == "a-failing-test":
        assert "on purpose" in output


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_function_process_is_started_once(lab: Lab) -> None:
    """``with FunctionProcess...`` starts it; a second ``start()`` used to spawn another process and
    orphan the first (a fixture did exactly that: a functions-framework outlived every test run)."""
    env = process_env(lab, cloud_function_settings(lab))
    with FunctionProcess.cloud_function(env) as function:
        with pytest.raises(RuntimeError, match="already running"):
            function.start()
        assert function.running
    assert not function.running


LEAKING = """
import subprocess


def test_leaks():
    subprocess.Popen(["sleep", "120"], start_new_session=True)  # started, never stopped
"""


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_test_session_that_leaves_a_process_fails(tmp_path: Path) -> None:
    """The session-wide check (tests/conftest.py): a passing test that leaves a process running
    fails the run, naming the process; the process does not outlive it."""
    tests = tmp_path / "test_leaking.py"
    tests.write_text(LEAKING, encoding="utf-8")
    process = _subject([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", str(tests)])
    output, _ = _finish(process, timeout_s=90)
    assert process.returncode == pytest.ExitCode.TESTS_FAILED, output[-2000:]
    assert "1 passed" in output and "left 1 process(es) running" in output and "sleep 120" in output
