"""Every command and snippet in README.md runs as written, on a fresh clone, after the documented setup only.

The README is read as a newcomer reads it (tests/readme.py): each section's ``sh`` blocks typed
into a shell at the root of a fresh copy of the repository, each ``python`` block run there with
``.venv/bin/python``, servers the README says to leave running started in shells of their own.
The shells start from a bare environment (PATH, HOME, LANG, and a machine-wide CA bundle without
the lab's CA, as many machines set): any variable a step needs must come
from a step the README shows. They also get a dead proxy for every host but loopback
(``LOOPBACK_ONLY``), so nothing they run can leave the machine. The documented setup — ``make setup``, which ``make demo`` runs — is
the one thing taken as done: the copy links this checkout's ``.venv`` and ``node_modules`` (their
install from the locks is tested by CI on a clean clone, and would need the package registries).

A step that exits non-zero, or runs past its deadline (a hang: say, a client left on its default
endpoint), fails the test with the section, the README line and the output. Deploy commands
that need both clouds are checked for names instead (Terraform outputs, settings, entry points).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from lab.hosting.functions import CLOUD_FUNCTION_TARGET
from tests.support import readme
from tools.package import BUNDLES

pytestmark = pytest.mark.e2e

ROOT = readme.ROOT
STEP_TIMEOUT_S = 240.0  # make demo on a loaded 2-core machine takes well under a minute
READY_TIMEOUT_S = 120.0
BARE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "USER", "TMPDIR")
# Loopback only, in the reader's shells too: a request for any other host goes to a proxy address
# where nothing listens (requests, azure-core and curl read these), so a snippet that would reach
# a real cloud endpoint fails at once instead of leaving the machine.
DEAD_PROXY = "http://127.0.0.1:9"
LOOPBACK_ONLY = {
    **{name: DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
    **{name: "127.0.0.1,localhost,::1" for name in ("NO_PROXY", "no_proxy")},
}
TOOLS = {name: shutil.which(name) or name for name in ("bash", "git", "make")}
# Many readers' machines set these machine-wide (Debian and Nix images, corporate proxies): a CA bundle
# without the lab's CA. Every step must still reach the lab, so the role's settings have to win.
MACHINE_CA = {name: certifi.where() for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")}


def fresh_clone(target: Path) -> Path:
    """The tracked and untracked-but-not-ignored files of this checkout (what a commit would hold).

    Modification times are kept so that make sees the linked venv as installed from this lock.
    """
    listed = subprocess.run(
        [TOOLS["git"], "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for installed in (".venv", "node_modules"):
        (target / installed).symlink_to(ROOT / installed)
    return target


class Terminal:
    """The reader's shells: one per section, and one per server left running."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = (
            {name: os.environ[name] for name in BARE_ENV if name in os.environ} | LOOPBACK_ONLY | MACHINE_CA
        )
        self.servers: list[tuple[str, subprocess.Popen[str], list[str]]] = []

    def run(self, where: str, script: str) -> str:
        """Run ``script`` in a new bash (``-e -o pipefail``); raise with its output if it fails or hangs."""
        process = subprocess.Popen(
            [TOOLS["bash"], "-e", "-o", "pipefail", "-c", script],
            cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            output, _ = process.communicate(timeout=STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            output = process.communicate()[0]
            raise AssertionError(
                f"{where}: still running after {STEP_TIMEOUT_S:.0f}s (a hang):\n{output}"
            ) from None
        if process.returncode != 0:
            raise AssertionError(f"{where}: exit {process.returncode}:\n{output}")
        return output

    def start(self, where: str, command: str, ready: str) -> None:
        """Start a server as the README says, and wait until it prints ``ready``."""
        process = subprocess.Popen(
            [TOOLS["bash"], "-c", command],
            cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        lines: list[str] = []
        self.servers.append((where, process, lines))
        threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while ready and not any(ready in line for line in lines):
            if process.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)
                raise AssertionError(f"{where}: {command!r} never printed {ready!r}:\n{''.join(lines)}")
            time.sleep(0.05)

    def stop(self) -> list[int]:
        """Ctrl-C each server, as the README says, newest first; kill what does not stop.

        Returns the processes still running from the copy after that (Azurite is in a session of
        its own: only the lab stops it), having stopped them: the suite leaves nothing behind.
        """
        for _, process, _ in reversed(self.servers):
            _stop_group(process)
        left = _processes_running_from(self.cwd)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        return left


def _processes_running_from(directory: Path) -> list[int]:
    """PIDs whose command line names a path inside ``directory`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"{directory}/" in command and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _stop_group(process: subprocess.Popen[str]) -> None:
    for sig, wait_s in ((signal.SIGINT, 30.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


def read_through(text: str, terminal: Terminal) -> dict[str, str]:
    """Do what ``text`` (a README) says, in order; return each section's output."""
    outputs: dict[str, str] = {}
    pending: list[readme.Step] = []

    def flush() -> None:
        if pending:
            where = f"README section {pending[0].section!r} (line {pending[0].line})"
            output = terminal.run(where, "".join(step.script for step in pending))
            outputs[pending[0].section] = outputs.get(pending[0].section, "") + output
            pending.clear()

    for step in readme.session(text).steps:
        if step.ready is not None or (pending and pending[0].section != step.section):
            flush()
        if step.ready is not None:
            terminal.start(f"README line {step.line}", step.script, step.ready)
        else:
            pending.append(step)
    flush()
    return outputs


def json_documents(output: str) -> Iterator[dict[str, object]]:
    """Every JSON object printed in ``output`` (curl prints them back to back)."""
    decoder = json.JSONDecoder()
    index = output.find("{")
    while index != -1:
        try:
            document, end = decoder.raw_decode(output, index)
        except ValueError:
            index = output.find("{", index + 1)
            continue
        if isinstance(document, dict):
            yield document
        index = output.find("{", end)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_clone(tmp_path_factory.mktemp("fresh-clone"))


@pytest.mark.timeout(900)
def test_every_local_command_and_snippet_runs_as_written(clone: Path) -> None:
    text = (clone / "README.md").read_text(encoding="utf-8")
    terminal = Terminal(clone)
    try:
        outputs = read_through(text, terminal)
        lab_files = sorted(p.name for p in (clone / ".lab").iterdir())

        # A broken snippet fails the same way: the Google -> Azure one with a misspelt setting.
        broken = text.replace(
            'os.environ["AZURE_STORAGE_CONTAINER"]', 'os.environ["AZURE_STORAGE_CONTAINERS"]'
        )
        assert broken != text
        section = "Use it from your own code"
        steps = [s for s in readme.session(broken).steps if s.section == section]
        with pytest.raises(AssertionError, match="KeyError: 'AZURE_STORAGE_CONTAINERS'"):
            terminal.run(section, "".join(s.script for s in steps))
    finally:
        left = terminal.stop()

    assert left == [], "every process the README starts stops on Ctrl-C"
    assert {"azure-function.env", "cloud-function.env", "azure-to-google.env", "google-to-azure.env"} <= set(
        lab_files
    )
    assert not (clone / ".lab").exists(), "the lab removes its settings when it stops (Ctrl-C)"

    # What the snippets and doctor printed is what the README promises.
    own_code = outputs["Use it from your own code"]
    assert re.search(r"^\d{4}-\d{2}-\d{2}$", own_code, re.M), own_code  # SELECT CURRENT_DATE()
    assert "2026/11/daily-summary.json" in own_code
    yourself = outputs["Run it yourself against the lab"]
    assert yourself.count("every hop is healthy") == 2, yourself
    cloud_reply, app_reply = list(json_documents(yourself))[-2:]
    assert set(cloud_reply) == readme.answered_fields(text, 1)
    assert set(app_reply) == readme.answered_fields(text, 2)
    assert "Federation lab ready" in "".join(line for _, _, lines in terminal.servers for line in lines)


def test_the_sections_that_need_a_cloud_name_only_what_exists() -> None:
    text = readme.README.read_text(encoding="utf-8")
    outputs = set(re.findall(r'^output "([a-z0-9_]+)"', (ROOT / "infra" / "outputs.tf").read_text(), re.M))
    main_tf = (ROOT / "infra" / "main.tf").read_text()
    environment = re.search(r"environment = \{(.*?)\}", main_tf, re.S)
    assert environment, "infra/main.tf writes the Cloud Function's environment"
    settings = set(re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*=", environment[1], re.M))
    app_functions = set(
        re.findall(
            r"@app\.route\([^)]*\)\s*def (\w+)", (ROOT / "azure_function" / "function_app.py").read_text()
        )
    )
    names = {
        "--entry-point": {CLOUD_FUNCTION_TARGET},
        "--function": {CLOUD_FUNCTION_TARGET},
        "--function-name": app_functions,
        "--source": {f"build/{name}" for name in BUNDLES},
    }
    cloud = readme.session(text).cloud_blocks
    assert cloud, "the README shows how to deploy"

    problems = [
        p
        for block in cloud
        for p in readme.cloud_problems(block, outputs=outputs, settings=settings, names=names)
    ]

    assert problems == []
    # ... and the check can fail: a Terraform output that does not exist, a setting nobody reads.
    wrong = readme.Block(
        "Deploy for real", "sh", '--set-env-vars="AZURE_CLIENTID=$(out blob_reader_clientid)"\n', 1
    )
    assert len(readme.cloud_problems(wrong, outputs=outputs, settings=settings, names=names)) == 2


def test_every_make_target_and_extra_the_readme_names_exists() -> None:
    text = readme.README.read_text(encoding="utf-8")
    listed = subprocess.run(
        [TOOLS["make"], "-pRrq", "-f", "Makefile"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", listed, re.M))
    pyproject = (ROOT / "pyproject.toml").read_text()
    declared = set(
        re.findall(r"^([a-z0-9-]+) = \[", pyproject.split("[project.optional-dependencies]")[1], re.M)
    )

    assert readme.make_targets(text) - targets == set()
    assert readme.session(text).checked_targets, "make test is named and checked, not run"
    assert {"azure-to-google", "google-to-azure", "gcp-function", "azure-function"} <= declared
    assert readme.extras(text) - declared == set()
    markers = set(re.findall(r'^\s*"([a-z]+):', pyproject.split("markers = [")[1].split("]")[0], re.M))
    assert set(re.findall(r'PYTEST_ARGS="-m ([a-z]+)"', text)) - markers == set()
    local = [b.text for b in readme.blocks(text) if b.section not in readme.CLOUD_SECTIONS]
    assert not re.search(r"^\s*python3? -m ", "\n".join(local), re.M), (
        "commands name their interpreter: make or .venv/bin/python"
    )


def test_every_federation_command_the_readme_names_exists() -> None:
    """`federation X` / `python -m shared X` anywhere in the README (cloud sections included) names a
    subcommand the CLI itself accepts: asked with `--help`, not read from our own list."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    code = "\n".join([b.text for b in readme.blocks(text)] + re.findall(r"`([^`]+)`", prose))
    named = set(re.findall(r"(?:^|[\s(`])(?:federation|python3? -m shared) ([a-z][a-z-]+)", code, re.M))
    assert named, "the README names federation commands"
    for command in sorted(named):
        run = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-m", "shared", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert run.returncode == 0, f"`federation {command}` is not a command: {run.stderr.strip()[-500:]}"


def test_blocks_are_classified_as_a_reader_would_run_them() -> None:
    text = (
        "## Top\n\n```sh\nmake demo   # runs\nmake test   # checked\n```\n\n"
        '## Try\n\n```sh\nmake lab   # leave it running; ready when it prints "ready"\n```\n\n'
        "```sh\n. .lab/x.env\n```\n\n```python\nprint(1)\n```\n\n"
        "## Deploy for real\n\n```sh\ngcloud functions deploy x\n```\n\n```text\nnot code\n```\n"
    )
    result = readme.session(text)

    assert [(s.section, s.ready) for s in result.steps] == [
        ("Top", None), ("Try", "ready"), ("Try", None), ("Try", None),
    ]  # fmt: skip
    assert result.steps[1].script == "make lab"
    assert ".venv/bin/python - <<" in result.steps[3].script
    assert result.checked_targets == ["test"]
    assert [b.section for b in result.cloud_blocks] == ["Deploy for real"]
