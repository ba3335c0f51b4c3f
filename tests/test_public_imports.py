"""The public import paths the README documents keep working, and shared's export list agrees with itself."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import shared

ROOT = Path(__file__).resolve().parent.parent


def test_every_exported_name_resolves_from_its_module() -> None:
    for name in shared.__all__:
        assert getattr(shared, name) is getattr(importlib.import_module(shared._MODULE_OF[name]), name)


def test_the_names_type_checkers_see_are_the_names_exported() -> None:
    tree = ast.parse((ROOT / "shared" / "__init__.py").read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))
    static = {
        (node.module, alias.asname)
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert static == {(module, name) for name, module in shared._MODULE_OF.items()}


def test_documented_import_paths() -> None:
    from shared import GoogleFederatedCredential, google_credentials
    from shared.aio import GoogleFederatedCredential as AsyncGoogleFederatedCredential
    from shared.errors import EntraRefusal, FederationError, StsRefusal, entra_refusal, sts_refusal
    from shared.settings import AzureToGoogleSettings, GoogleToAzureSettings, RetrySettings

    assert callable(google_credentials) and callable(entra_refusal) and callable(sts_refusal)
    assert issubclass(EntraRefusal, FederationError) and issubclass(StsRefusal, FederationError)
    assert {GoogleFederatedCredential.__name__, AsyncGoogleFederatedCredential.__name__} == {
        "GoogleFederatedCredential"
    }
    assert RetrySettings().attempts >= 1
    assert callable(AzureToGoogleSettings.from_env) and callable(GoogleToAzureSettings.from_env)


def test_the_federation_script_and_python_m_shared() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["federation"].split(":")
    assert callable(getattr(importlib.import_module(module), function))
    shown = subprocess.run(
        [sys.executable, "-m", "shared", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "doctor" in shown.stdout
