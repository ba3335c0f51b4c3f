"""infra/, parsed with python-hcl2: the stack's modules, resources, variables and outputs as dicts.

``make infra-check`` runs the real ``terraform validate`` and ``terraform test`` offline (tools/tfstub);
these views serve the tests of what Terraform's tools cannot say (documentation, the lab agreeing with
the stack, an expect_failures run per validated variable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

INFRA = Path(__file__).resolve().parents[2] / "infra"
_REFERENCE = re.compile(r"\b(var|local|module)\.([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?")


@dataclass
class Module:
    """One Terraform module folder (the root is one too)."""

    path: Path
    blocks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    text: str = ""

    def named(self, kind: str) -> dict[str, dict[str, Any]]:
        """``variable`` / ``output`` / ``module`` blocks by name."""
        return {name: body for block in self.blocks.get(kind, []) for name, body in block.items()}

    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (kind, name): body
            for block in self.blocks.get("resource", [])
            for kind, named in block.items()
            for name, body in named.items()
        }

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources()[(kind, name)]

    def locals(self) -> dict[str, Any]:
        return {k: v for block in self.blocks.get("locals", []) for k, v in block.items()}

    def references(self, kind: str) -> set[tuple[str, str | None]]:
        """Every ``var.x`` / ``local.x`` / ``module.m.o`` this module's files mention (comments excluded)."""
        return {(m[2], m[3]) for m in _REFERENCE.finditer(self.code) if m[1] == kind}

    @property
    def code(self) -> str:
        return "\n".join(
            line.split("#", 1)[0] for line in self.text.splitlines() if "checkov:skip" not in line
        )


@cache
def load(folder: Path = INFRA) -> Module:
    """All ``*.tf`` files of ``folder``, merged by block kind."""
    module = Module(folder)
    texts = []
    for path in sorted(folder.glob("*.tf")):
        texts.append(path.read_text())
        with path.open() as handle:
            for kind, blocks in hcl2.load(handle).items():  # type: ignore[attr-defined]
                module.blocks.setdefault(kind, []).extend(blocks if isinstance(blocks, list) else [blocks])
    module.text = "\n".join(texts)
    return module


def modules() -> dict[str, Module]:
    """The root (``""``) and every module under infra/modules, by name."""
    found = {"": load(INFRA)}
    for folder in sorted((INFRA / "modules").iterdir()):
        if folder.is_dir():
            found[folder.name] = load(folder)
    return found


def tfvars_example() -> dict[str, Any]:
    with (INFRA / "terraform.tfvars.example").open() as handle:
        data: dict[str, Any] = hcl2.load(handle)  # type: ignore[attr-defined]
    return data


def render(template: str, **values: str) -> str:
    """Fill ``${var.name}`` placeholders of a Terraform string template."""
    return re.sub(r"\$\{var\.(\w+)\}", lambda m: values[m[1]], template)


def branches(conditional: str) -> tuple[str, str]:
    """The two quoted string results of ``${cond ? "a" : "b"}``."""
    found = re.findall(r'"([^"]*)"', conditional.split("?", 1)[1])
    assert len(found) >= 2, f"not a conditional of two strings: {conditional}"
    return found[0], found[1]
