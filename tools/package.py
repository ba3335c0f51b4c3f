"""``make package``: a deployable folder per function, with ``shared/`` vendored next to the entrypoint.

``build/gcp_function``   main.py, requirements.txt, .gcloudignore, shared/
                         -> ``gcloud functions deploy ... --source=build/gcp_function``
``build/azure_function`` function_app.py, host.json, requirements.txt, .funcignore, shared/
                         and your ``local.settings.json`` if you made one (for ``func start``;
                         ``.funcignore`` keeps it out of what ``func azure functionapp publish`` uploads)
                         -> ``cd build/azure_function && func azure functionapp publish ...``

Each folder installs from its own pinned ``requirements.txt`` and imports nothing from the
repository: what is tested (tests/test_bundles.py) is what deploys.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = {
    "gcp_function": ("main.py", "requirements.txt", ".gcloudignore"),
    "azure_function": ("function_app.py", "host.json", "requirements.txt", ".funcignore"),
}
# Copied when present: local development settings, never deployed (each ignore file lists them).
LOCAL_ONLY = {"azure_function": ("local.settings.json",)}
_NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


def build(name: str, out: Path) -> Path:
    """Write the bundle ``name`` into ``out/name`` (replacing it) and return its path."""
    target = out / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for file in BUNDLES[name]:
        shutil.copy2(ROOT / name / file, target / file)
    for file in LOCAL_ONLY.get(name, ()):
        if (ROOT / name / file).is_file():
            shutil.copy2(ROOT / name / file, target / file)
    shutil.copytree(ROOT / "shared", target / "shared", ignore=_NOT_SHIPPED)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the deployable function folders.")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "build", help="where to write them (default build/)"
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(BUNDLES)} (default both)"
    )
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BUNDLES)
    if unknown:
        parser.error(f"unknown function(s) {', '.join(sorted(unknown))}; expected {', '.join(BUNDLES)}")
    for name in args.names or BUNDLES:
        path = build(name, args.out)
        files = sorted(p for p in path.rglob("*") if p.is_file())
        print(
            f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: {len(files)} files"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
