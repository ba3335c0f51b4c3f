"""Build the offline provider mirror that ``make infra-check`` points Terraform at.

``python -m tools.tfstub.mirror BUILD_DIR`` (idempotent, cached):

1. ``pip download --no-deps`` each pinned CDK Terrain provider wheel (PyPI; pip's cache makes a second
   run free) into ``BUILD_DIR/wheels``;
2. turns each into ``BUILD_DIR/schemas/<provider>.json`` (:mod:`tools.tfstub.cdktn_schema`) — skipped when
   the file exists for that wheel;
3. writes, for the provider version the wheel was generated from, an executable
   ``BUILD_DIR/mirror/registry.terraform.io/hashicorp/<name>/<version>/<os_arch>/terraform-provider-<name>_v<version>``
   that runs :mod:`tools.tfstub.provider` in the ``.venv-tfstub`` venv (the "unpacked" filesystem-mirror
   layout: https://developer.hashicorp.com/terraform/cli/config/config-file#filesystem_mirror);
4. writes ``BUILD_DIR/terraformrc``, a CLI configuration whose only installation method is that mirror, so
   ``terraform init`` can never reach a registry (``TF_CLI_CONFIG_FILE`` selects it).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tools.tfstub.cdktn_schema import provider_schema

# provider name -> (PyPI package, version). The provider version each serves is read from the package
# (cdktn-provider-google 21.1.0 was generated from google 8.7.0, azurerm 18.9.0 from 5.10.0, ...).
PACKAGES: dict[str, tuple[str, str]] = {
    "google": ("cdktn-provider-google", "21.1.0"),
    "azurerm": ("cdktn-provider-azurerm", "18.9.0"),
    "azuread": ("cdktn-provider-azuread", "17.1.0"),
    "random": ("cdktn-provider-random", "15.0.1"),
    "archive": ("cdktn-provider-archive", "14.0.1"),
}
REPO = Path(__file__).resolve().parents[2]


def _wheel(wheels: Path, package: str, version: str) -> Path:
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if not found:
        subprocess.run(  # noqa: S603 - fixed argument list, pinned package
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--dest",
                str(wheels),
                f"{package}=={version}",
            ],
            check=True,
        )
        found = sorted(wheels.glob(pattern))
    return found[0]


def _platform() -> str:
    program = shutil.which("terraform")
    if program is None:
        raise SystemExit(
            "terraform not found: install Terraform 1.11 or later (https://developer.hashicorp.com/terraform/install)"
        )
    out = subprocess.run([program, "version", "-json"], capture_output=True, text=True, check=True)  # noqa: S603
    return str(json.loads(out.stdout)["platform"])


def _executable(path: Path, schema: Path, venv_python: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!/bin/sh\nPYTHONPATH='{REPO}' exec '{venv_python}' -m tools.tfstub.provider '{schema}'\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def build(build_dir: Path, venv_python: Path) -> dict[str, str]:
    """Build the mirror; return provider name -> the provider version it serves."""
    wheels, schemas, mirror = build_dir / "wheels", build_dir / "schemas", build_dir / "mirror"
    for d in (wheels, schemas, mirror):
        d.mkdir(parents=True, exist_ok=True)
    platform = _platform()
    served: dict[str, str] = {}
    for name, (package, version) in PACKAGES.items():
        wheel = _wheel(wheels, package, version)
        schema_file = schemas / f"{name}.json"
        stamp = schemas / f"{name}.from"
        if not schema_file.exists() or not stamp.exists() or stamp.read_text() != wheel.name:
            schema = provider_schema(wheel)
            schema_file.write_text(json.dumps(schema, sort_keys=True))
            stamp.write_text(wheel.name)
        provider_version = json.loads(schema_file.read_text())["provider_version"]
        binary = (
            mirror
            / "registry.terraform.io"
            / "hashicorp"
            / name
            / provider_version
            / platform
            / f"terraform-provider-{name}_v{provider_version}"
        )
        _executable(binary, schema_file.resolve(), venv_python)
        served[name] = provider_version
    (build_dir / "terraformrc").write_text(
        "# Written by tools/tfstub/mirror.py: stand-in providers only, no registry.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror.resolve()}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
    )
    (build_dir / "versions.json").write_text(json.dumps(served, indent=2, sort_keys=True) + "\n")
    return served


def main(argv: list[str]) -> int:
    """``python -m tools.tfstub.mirror BUILD_DIR VENV_PYTHON``."""
    served = build(Path(argv[0]), Path(os.path.abspath(argv[1])))
    print("stand-in providers: " + ", ".join(f"{k} {v}" for k, v in sorted(served.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
