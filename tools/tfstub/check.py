"""``make infra-check``: the real Terraform CLI over infra/, offline, against the stand-in providers.

``python -m tools.tfstub.check [INFRA_DIR]`` runs ``terraform fmt -check -recursive`` on INFRA_DIR, then
copies it to ``build/tfstub/work/`` (so no ``.terraform/`` or lock file holding stand-in hashes lands in
the tree) and, for the root stack and each module under ``modules/``, ``terraform init -backend=false``
(installing the stand-ins from the mirror), ``terraform validate`` (Terraform launches them: go-plugin
handshake, mTLS) and ``terraform test`` (the module's ``tests/*.tftest.hcl``). It stops at the first
failing command, printing its output, and exits 1.

``terraform test`` launches every provider afresh for every run block, and a Python provider costs about
half a second of CPU to start; so the tests run against one long-lived process per provider, attached
with ``TF_REATTACH_PROVIDERS`` (Terraform's documented way to use a provider it did not start:
https://developer.hashicorp.com/terraform/plugin/debugging#running-terraform-with-a-provider-in-debug-mode),
served by the same code over a unix socket. Those processes are stopped on every exit path.

Needs the mirror :mod:`tools.tfstub.mirror` built (``make infra-check`` does it first) and ``terraform``
on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "tfstub"
TFSTUB_PYTHON = REPO / ".venv-tfstub" / "bin" / "python"
TERRAFORM_HELP = (
    "terraform not found: install Terraform 1.11 or later "
    "(https://developer.hashicorp.com/terraform/install, or apt/brew/choco: see that page)"
)


class CheckFailed(Exception):
    """A terraform command failed; ``str()`` is its command line and output."""


def environment(build: Path = BUILD, config_dir: Path | None = None) -> dict[str, str]:
    """The environment for terraform: the mirror-only CLI config, no checkpoint calls, no prompts;
    with ``config_dir``, the stand-ins serve only the types declared there (see tools.tfstub.provider)."""
    env = dict(os.environ)
    if config_dir is not None:
        env["TFSTUB_CONFIG_DIR"] = str(config_dir)
    env.update(
        TF_CLI_CONFIG_FILE=str(build / "terraformrc"),
        CHECKPOINT_DISABLE="1",
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
    )
    env.pop("TF_DATA_DIR", None)
    return env


def terraform(
    args: Sequence[str],
    cwd: Path,
    build: Path = BUILD,
    config_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Run ``terraform ARGS`` in ``cwd``; return its output, raise :class:`CheckFailed` if it fails."""
    program = shutil.which("terraform")  # the one on PATH, as the user runs it
    if program is None:
        raise CheckFailed(TERRAFORM_HELP)
    result = subprocess.run(  # noqa: S603 - the terraform on PATH, arguments from this module
        [program, *args],
        cwd=cwd,
        env={**environment(build, config_dir), **(extra_env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise CheckFailed(f"$ terraform {' '.join(args)}   (in {cwd})\n{output}")
    return output


def stack_dirs(infra: Path) -> list[Path]:
    """The root stack and each module: every directory that holds a versions.tf."""
    return [infra, *sorted(p.parent for p in infra.glob("modules/*/versions.tf"))]


def copy_infra(infra: Path, work: Path) -> Path:
    """A fresh copy of ``infra`` at ``work/infra`` (no ``.terraform``, state or lock files)."""
    target = work / "infra"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        infra,
        target,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", ".terraform-build"),
    )
    return target


@contextmanager
def reattached(config_dir: Path, build: Path = BUILD) -> Iterator[dict[str, str]]:
    """One stand-in process per provider schema, in the ``tf`` framework's dev mode (a unix socket, no
    handshake); yields the ``TF_REATTACH_PROVIDERS`` environment that points Terraform at them."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TFSTUB_CONFIG_DIR": str(config_dir)}
    processes: list[subprocess.Popen[str]] = []
    try:
        for schema in sorted((build / "schemas").glob("*.json")):
            processes.append(
                subprocess.Popen(  # noqa: S603 - this repository's venv and module
                    [str(TFSTUB_PYTHON), "-u", "-m", "tools.tfstub.provider", str(schema), "--dev"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    env=env,
                )
            )
        providers: dict[str, object] = {}
        for process in processes:
            assert process.stdout is not None
            for line in process.stdout:  # "Running in dev mode", then the export line
                if "TF_REATTACH_PROVIDERS=" in line:
                    providers.update(json.loads(line.split("=", 1)[1].strip().strip("'")))
                    break
            else:
                raise CheckFailed(f"stand-in provider {process.args!r} exited before listening")
        yield {"TF_REATTACH_PROVIDERS": json.dumps(providers)}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def check(infra: Path, work: Path, build: Path = BUILD, log: bool = True) -> None:
    """fmt, then init/validate/test in every stack directory of a copy of ``infra``."""
    started = time.monotonic()
    terraform(["fmt", "-check", "-recursive", "-diff"], infra, build)
    copy = copy_infra(infra, work)
    with reattached(copy, build) as attach:
        for directory in stack_dirs(copy):
            name = directory.relative_to(copy.parent)
            terraform(["init", "-backend=false", "-input=false", "-no-color"], directory, build)
            terraform(["validate", "-no-color"], directory, build, copy)
            if log:
                print(f"infra-check: {name}: validate ok", flush=True)
            if any((directory / "tests").glob("*.tftest.hcl")):
                out = terraform(["test", "-no-color"], directory, build, copy, attach)
                if log:
                    print(f"infra-check: {name}: {out.strip().splitlines()[-1]}", flush=True)
    if log:
        print(f"infra-check: terraform fmt/init/validate/test passed in {time.monotonic() - started:.0f} s")


def main(argv: list[str]) -> int:
    """Exit 0 when every check passes, 1 with the failing command's output otherwise, 2 without terraform."""
    if shutil.which("terraform") is None:
        print(f"infra-check: {TERRAFORM_HELP}", file=sys.stderr)
        return 2
    infra = Path(argv[0]) if argv else REPO / "infra"
    try:
        check(infra.resolve(), BUILD / "work")
    except CheckFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
