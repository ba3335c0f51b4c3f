"""The README as a newcomer meets it: its code blocks, in order, and how each is to be run.

:func:`blocks` reads README.md's fenced ``sh`` and ``python`` blocks with markdown-it (the
CommonMark parser). :func:`session` turns them into what a reader does at a terminal, section by
section, from the repository's root:

- a ``sh`` block is typed into that section's shell as written; a ``python`` block is run with
  ``.venv/bin/python`` in the same shell (the README says so: paste it, or save it as a file);
- a command whose comment says ``leave it running`` is started in a shell of its own (``make lab``,
  ``make serve-…``), and waited for until it prints X if the comment goes on ``; ready when it
  prints "X"``;
- ``make test``, ``make bench`` and ``make pytest`` are the suite itself or minutes of benchmarks:
  their targets are checked, not run;
- the blocks of "Deploy for real" need both clouds: they are checked for names only (see
  :func:`cloud_problems`), never run.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Sections whose blocks need a cloud or a deployed function's environment (there, `python` is the
# function's own interpreter, with shared/ vendored): checked for names only, never run here. The
# interop suite runs the "other tools" commands against the lab instead (tests/interop/).
CLOUD_SECTIONS = {"Deploy for real", "From other tools and languages"}
CHECKED_ONLY = {"test", "bench", "pytest"}  # make targets named in the README but not run by it
_READY = re.compile(r'leave it running(?:; ready when it prints "([^"]+)")?')
_MAKE = re.compile(r"^make\s+([a-z][a-z0-9-]*)")


@dataclass(frozen=True)
class Block:
    section: str
    lang: str
    text: str
    line: int  # 1-based line of the opening fence


@dataclass
class Step:
    """One thing the reader does: run a script in the section's shell, or start a server and wait."""

    section: str
    line: int
    script: str
    ready: str | None = None  # a server: the text that says it is up ("" when it says nothing)


@dataclass
class Session:
    steps: list[Step] = field(default_factory=list)
    checked_targets: list[str] = field(default_factory=list)  # named, not run
    cloud_blocks: list[Block] = field(default_factory=list)


def blocks(text: str) -> list[Block]:
    """Every fenced ``sh``/``python`` block with the ``##`` section it is in."""
    found = []
    section = "(top)"
    tokens = MarkdownIt("commonmark").parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            section = tokens[index + 1].content.strip()
        if token.type == "fence" and token.info.strip() in ("sh", "python"):
            assert token.map is not None
            found.append(Block(section, token.info.strip(), token.content, token.map[0] + 1))
    return found


def commands(script: str) -> Iterator[str]:
    """The script's command lines, continuation lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", script)
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield stripped


def session(text: str) -> Session:
    """What a reader of ``text`` runs, in order (see the module docstring)."""
    result = Session()
    for block in blocks(text):
        if block.section in CLOUD_SECTIONS:
            result.cloud_blocks.append(block)
            continue
        if block.lang == "python":
            script = f".venv/bin/python - <<'__README_PYTHON__'\n{block.text}__README_PYTHON__\n"
            result.steps.append(Step(block.section, block.line, script))
            continue
        lines = []
        for line in block.text.splitlines():
            make = _MAKE.match(line.strip())
            if make and make[1] in CHECKED_ONLY:
                result.checked_targets.append(make[1])
                continue
            ready = _READY.search(line)
            if ready:
                command = line.split("#", 1)[0].strip()
                result.steps.append(Step(block.section, block.line, command, ready=ready[1] or ""))
                continue
            lines.append(line)
        if any(commands("\n".join(lines))):
            result.steps.append(Step(block.section, block.line, "\n".join(lines) + "\n"))
    return result


def make_targets(text: str) -> set[str]:
    """Every ``make <target>`` the README names, in blocks and in inline code."""
    return set(re.findall(r"(?:^|`|\n)\s*make ([a-z][a-z0-9-]*)", text))


def extras(text: str) -> set[str]:
    """Every ``pip install '.[extra]'`` extra the README names."""
    return set(re.findall(r"\.\[([a-z0-9-]+)\]", text))


def answered_fields(text: str, column: int) -> set[str]:
    """The top-level field names of the functions table's ``answers`` row, column 1 or 2."""
    row = next(line for line in text.splitlines() if line.startswith("| answers |"))
    cell = row.split("|")[column + 1]
    shape = re.search(r"`(\{.*\})`", cell)
    assert shape, f"no JSON shape in {cell!r}"
    flat = shape[1][1:-1]
    while re.search(r"[\[{][^\[\]{}]*[\]}]", flat):
        flat = re.sub(r"[\[{][^\[\]{}]*[\]}]", "", flat)  # drop nested shapes
    return set(re.findall(r'"(\w+)"', flat))


def cloud_problems(
    block: Block, *, outputs: set[str], settings: set[str], names: dict[str, set[str]]
) -> list[str]:
    """Names a deploy command uses that do not exist here: Terraform outputs, settings, entry points, bundles.

    ``names`` maps a flag (``--entry-point``, ``--function``, ``--function-name``, ``--source``) to
    the values it may take.
    """
    problems = []
    for command in commands(block.text):
        for output in re.findall(r"\$\(out ([a-z0-9_]+)\)", command):
            if output not in outputs:
                problems.append(f"line {block.line}: no Terraform output {output!r} in infra/outputs.tf")
        for variables in re.findall(r"--set-env-vars=\"?([^\" ]+)", command):
            for pair in variables.split(","):
                name = pair.split("=", 1)[0]
                if name not in settings:
                    problems.append(
                        f"line {block.line}: --set-env-vars names {name!r}, which the function does not read"
                    )
        try:
            words = shlex.split(command, comments=True)
        except ValueError:
            words = command.split()
        for index, word in enumerate(words):
            flag, _, value = word.partition("=")
            if flag in names and not value and index + 1 < len(words):
                value = words[index + 1]
            if flag in names and value and value not in names[flag] and "$(" not in value:
                problems.append(f"line {block.line}: {flag} {value!r} is none of {sorted(names[flag])}")
    return problems
