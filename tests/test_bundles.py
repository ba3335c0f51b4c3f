"""The deployable bundles, as deployed: each installed into a fresh venv from its own
``requirements.txt`` only, then served by its host and asked one question against the lab.

Installation is offline, from the uv cache ``make setup`` filled: the bundles pin exactly
the versions of requirements-dev.lock, so the cache has every wheel (and no test goes online).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from lab.core.runtime import Lab
from lab.hosting.functions import FunctionProcess, cloud_function_settings, function_app_settings, process_env
from tests.support.federation import expected_top_names, seeded_blob_names
from tools import package

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


def uv() -> str:
    found = Path(sys.executable).parent / "uv"
    assert found.exists(), "uv is installed into the venv by `make setup`"
    return str(found)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, str]]]:
    """Each bundle built into a temporary folder and installed into its own venv: name -> (folder, python)."""
    out = tmp_path_factory.mktemp("bundles")
    bundles = {}
    for name in package.BUNDLES:
        folder = package.build(name, out)
        venv = out / f"{name}-venv"
        env = {**os.environ, "UV_OFFLINE": "1"}
        env.pop("VIRTUAL_ENV", None)
        subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [uv(), "pip", "install", "--quiet", "--python", python, "-r", str(folder / "requirements.txt")],
            check=True,
            env=env,
        )
        bundles[name] = (folder, python)
    yield bundles


def bundle_env(lab: Lab, settings: dict[str, str], **extra: str) -> dict[str, str]:
    env = process_env(lab, settings, **extra)
    env.pop("PYTHONPATH")  # the bundle's own folder is all it may import from
    return env


@pytest.mark.parametrize("name", sorted(package.BUNDLES))
def test_bundle_pins_agree_with_the_dev_lock(name: str) -> None:
    bundle = pins(ROOT / name / "requirements.txt")
    dev = pins(ROOT / "requirements-dev.lock")

    assert bundle, "the bundle's requirements.txt pins its packages"
    assert {n: v for n, v in bundle.items() if dev.get(n) != v} == {}


def test_bundles_carry_their_entrypoint_and_shared(installed: dict[str, tuple[Path, str]]) -> None:
    for name, files in package.BUNDLES.items():
        folder = installed[name][0]
        assert {p.name for p in folder.iterdir()} == {*files, "shared"}
        assert (folder / "shared" / "__init__.py").exists()
        assert not list(folder.rglob("__pycache__"))


def test_cloud_function_bundle_serves_from_its_own_venv(
    lab: Lab, installed: dict[str, tuple[Path, str]]
) -> None:
    folder, python = installed["gcp_function"]
    lacks_dev = subprocess.run([python, "-c", "import lab"], cwd=folder, capture_output=True)
    assert lacks_dev.returncode != 0, "the bundle's venv must not see the repository"

    env = bundle_env(lab, cloud_function_settings(lab))
    with FunctionProcess.cloud_function(env, source=folder, python=python) as function:
        response = requests.get(function.url, timeout=30)

    assert response.status_code == 200, response.text
    assert [blob["name"] for blob in response.json()["blobs"]] == seeded_blob_names(lab)


def test_function_app_bundle_serves_from_its_own_venv(
    lab: Lab, installed: dict[str, tuple[Path, str]]
) -> None:
    folder, python = installed["azure_function"]
    env = bundle_env(lab, function_app_settings(lab), LOCAL_FUNCTION_KEY="bundle-test-key")
    with FunctionProcess.function_app(env, app_dir=folder, python=python) as function:
        response = requests.get(
            function.url,
            params={"query": "top_names", "state": "TX", "year": "2021", "limit": "3"},
            headers={"x-functions-key": "bundle-test-key"},
            timeout=30,
        )

    assert response.status_code == 200, response.text
    rows = [(row["name"], row["total"]) for row in response.json()["rows"]]
    assert rows == expected_top_names(lab, "TX", 2021)
