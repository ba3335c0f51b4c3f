"""Real-world case, kind 9: ``python -m shared token …`` fails like doctor — one clear error, exit 1.

The example: ``token`` printed a Python traceback for a missing setting and for an Entra refusal,
and the refusal (AADSTS500011, a scope naming no resource in the tenant) read "the resource ? has
no service principal", with a fix about ``AZURE_TOKEN_AUDIENCE`` — the other direction's setting.
Siblings found here: an STS refusal through ``token azure-to-google`` (a wrong pool: traceback
too), and the same 500011 relayed by the managed identity (Azure -> Google) keeps its own fix.
Entra's 500011 text: "The resource principal named … was not found in the tenant" (AADSTS error
codes, https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from lab.core.runtime import Lab
from lab.hosting.functions import cloud_function_settings, function_app_settings
from lab.scenarios.misconfigurations import _provider_id
from shared.doctor import cli
from tests.support.entrypoints import ROOT, apply_settings
from tests.support.retries import FAST_RETRIES

pytestmark = pytest.mark.misconfig


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_example_a_missing_setting_is_one_error_and_exit_1_without_a_traceback(lab: Lab) -> None:
    env = {**os.environ, **function_app_settings(lab), **FAST_RETRIES}
    del env["GCP_WORKLOAD_IDENTITY_PROVIDER"]

    done = subprocess.run(
        [sys.executable, "-m", "shared", "token", "azure-to-google"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 1 and done.stdout == ""
    assert "Traceback" not in done.stderr, done.stderr
    assert (
        done.stderr.split()[:3] == ["token:", "FAIL", "settings"]
        and "GCP_WORKLOAD_IDENTITY_PROVIDER" in done.stderr
    )


def test_the_example_an_entra_refusal_names_the_scope_and_this_direction(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES})

    code, out, err = run("token", "google-to-azure", "--scope", "api://no-such-api/.default")

    assert (code, out) == (1, "")
    assert err.split()[:3] == ["token:", "FAIL", "entra.token"] and "upstream: AADSTS500011" in err, err
    assert "resource ?" not in err and "api://no-such-api" in err
    assert "AZURE_TOKEN_AUDIENCE" not in err and "https://storage.azure.com/.default" in err
    assert not any(secret in err for secret in lab.minted())


def test_the_sibling_an_sts_refusal_through_token_azure_to_google(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(
        monkeypatch,
        {
            **function_app_settings(lab),
            **FAST_RETRIES,
            "GCP_WORKLOAD_IDENTITY_PROVIDER": _provider_id(lab, pool="no-such-pool"),
        },
    )

    code, out, err = run("token", "azure-to-google")

    assert (code, out) == (1, "")
    assert err.split()[:3] == ["token:", "FAIL", "gcp.sts"] and "GCP_WORKLOAD_IDENTITY_PROVIDER" in err, err


def test_the_sibling_500011_from_the_managed_identity_keeps_its_own_fix(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_settings(
        monkeypatch,
        {**function_app_settings(lab), **FAST_RETRIES, "AZURE_TOKEN_AUDIENCE": "api://no-such-app"},
    )

    code, _, err = run("token", "azure-to-google")

    assert code == 1 and "FAIL azure.msi" in err and "AADSTS500011" in err, err
    assert "AZURE_TOKEN_AUDIENCE" in err and "api://no-such-app" in err and "resource ?" not in err


def test_a_good_token_still_goes_to_stdout_only(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    apply_settings(monkeypatch, {**cloud_function_settings(lab), **FAST_RETRIES})
    code, out, err = run("token", "google-to-azure")
    assert code == 0 and err == "" and out.strip() in lab.minted()


def test_help_is_plain_text_with_the_examples() -> None:
    """`federation --help` is read in a terminal: no reStructuredText ``quotes``, and the usage examples."""
    result = subprocess.run(
        [sys.executable, "-m", "shared", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "``" not in result.stdout
    assert "federation doctor google-to-azure --terraform-outputs outputs.json" in result.stdout
    assert "federation token google-to-azure [--scope S]" in result.stdout
