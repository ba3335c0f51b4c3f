"""``make infra-check``: the real Terraform CLI over infra/, offline, against the stand-in providers.

``python -m tools.tfstub.check [INFRA_DIR]`` runs ``terraform fmt -check -recursive`` on INFRA_DIR, then
copies it to ``build/tfstub/work/`` (so no ``.terraform/`` or lock file holding stand-in hashes lands in
the tree) and, for the root stack and each module under ``modules/``, ``terraform init -backend=false``,
``terraform validate`` and ``terraform test`` (the module's ``tests/*.tftest.hcl``). It stops at the first
failing command, printing its output, and exits 1.

Needs the mirror :mod:`tools.tfstub.mirror` built (``make infra-check`` does it first) and ``terraform``
on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "tfstub"
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


def terraform(args: Sequence[str], cwd: Path, build: Path = BUILD, config_dir: Path | None = None) -> str:
    """Run ``terraform ARGS`` in ``cwd``; return its output, raise :class:`CheckFailed` if it fails."""
    result = subprocess.run(  # noqa: S603 - fixed program, arguments from this module
        # terraform from PATH, as the user runs it
        ["terraform", *args],  # noqa: S607
        cwd=cwd,
        env=environment(build, config_dir),
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


def check(infra: Path, work: Path, build: Path = BUILD, log: bool = True) -> None:
    """fmt, then init/validate/test in every stack directory of a copy of ``infra``."""
    started = time.monotonic()
    terraform(["fmt", "-check", "-recursive", "-diff"], infra, build)
    copy = copy_infra(infra, work)
    for directory in stack_dirs(copy):
        name = directory.relative_to(copy.parent)
        terraform(["init", "-backend=false", "-input=false", "-no-color"], directory, build)
        terraform(["validate", "-no-color"], directory, build, copy)
        if log:
            print(f"infra-check: {name}: validate ok", flush=True)
        if any((directory / "tests").glob("*.tftest.hcl")):
            out = terraform(["test", "-no-color"], directory, build, copy)
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
