"""infra/, read with python-hcl2, for what Terraform's own tools cannot say.

``make infra-check`` runs ``terraform validate`` and ``terraform test`` (infra/tests, infra/modules/*/tests)
against the providers' real schemas: references, arguments, types, variable rules and the wiring
(issuers, audiences, subjects, principal members, scopes) are checked there. What stays here is about
the repository around the code: documentation, the provider majors a user gets, that every validation
has a test that feeds it a bad value, checkov skips with reasons, and the deploy commands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.infra import INFRA, load, modules

ROOT = load()
GOOGLE_TO_AZURE = load(INFRA / "modules" / "google_to_azure")
AZURE_TO_GOOGLE = load(INFRA / "modules" / "azure_to_google")
CLOUD_FUNCTION = load(INFRA / "modules" / "cloud_function")
AZURE_FUNCTION = load(INFRA / "modules" / "azure_function")
BLOB_STORAGE = load(INFRA / "modules" / "blob_storage")


# -- the stack is complete and resolves -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_layout_and_documentation(name: str) -> None:
    module = modules()[name]
    for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (module.path / file).exists(), f"{module.path.name}/{file}"
    for variable, body in module.named("variable").items():
        assert body.get("type"), f"variable {variable} has no type"
        assert len(body.get("description", "")) > 10, f"variable {variable} has no description"
    for output, body in module.named("output").items():
        assert len(body.get("description", "")) > 5, f"output {output} has no description"


def test_provider_versions() -> None:
    providers = ROOT.blocks["terraform"][0]["required_providers"][0]
    minimum = {name: re.search(r">=\s*(\d+)", spec["version"])[1] for name, spec in providers.items()}  # type: ignore[index]
    assert {k: int(v) for k, v in minimum.items() if k in ("google", "azuread", "azurerm")} == {
        "google": 8,
        "azuread": 3,
        "azurerm": 5,
    }


def _validated(module_path: Path) -> set[str]:
    return {name for name, body in load(module_path).named("variable").items() if body.get("validation")}


def _expected_failures(module_path: Path) -> set[str]:
    text = "\n".join(p.read_text() for p in (module_path / "tests").glob("*.tftest.hcl"))
    return {
        v
        for block in re.findall(r"expect_failures\s*=\s*\[(.*?)\]", text, re.S)
        for v in re.findall(r"var\.(\w+)", block)
    }


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_validated_variable_has_an_expect_failures_run(name: str) -> None:
    """terraform test runs the runs it is given; that each rule has one is this repository's rule."""
    path = modules()[name].path
    missing = _validated(path) - _expected_failures(path)
    assert not missing, f"{path.name}: no expect_failures run for {sorted(missing)}"


def test_every_checkov_skip_is_justified() -> None:
    skips = re.findall(r"checkov:skip=(\S+?):(.*)", "\n".join(m.text for m in modules().values()))
    assert skips
    for check, reason in skips:
        assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", check), check
        assert len(reason.strip()) >= 30, f"{check}: the skip needs a reason"


# -- Google -> Azure --------------------------------------------------------------------------


# -- Azure -> Google --------------------------------------------------------------------------


def test_least_privilege_roles() -> None:
    impersonation = AZURE_TO_GOOGLE.resource("google_service_account_iam_member", "workload_identity_user")
    assert impersonation["role"] == "roles/iam.workloadIdentityUser"
    assert impersonation["member"] == "${each.value}"
    assert "local.principals" in impersonation["for_each"]
    assert (
        AZURE_TO_GOOGLE.resource("google_project_iam_member", "bigquery_job_user")["role"]
        == "roles/bigquery.jobUser"
    )
    viewer = AZURE_TO_GOOGLE.resource("google_bigquery_dataset_iam_member", "data_viewer")
    assert (viewer["role"], viewer["dataset_id"]) == (
        "roles/bigquery.dataViewer",
        "${var.bigquery_dataset_id}",
    )
    members = AZURE_TO_GOOGLE.locals()["bigquery_members"]
    assert "serviceAccount:${local.service_account}" in members and "local.principals" in members
    granted = [body.get("role", "") for body in modules()["azure_to_google"].resources().values()]
    assert not [r for r in granted if r in ("roles/owner", "roles/editor") or r.endswith(".admin")]


# -- the functions ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(modules()))
def test_readme_lists_every_input_and_output(name: str) -> None:
    module = modules()[name]
    readme = (module.path / "README.md").read_text()
    missing = [n for n in [*module.named("variable"), *module.named("output")] if f"| `{n}` |" not in readme]
    assert not missing, f"{module.path.name}/README.md lacks {missing}"


def test_deploy_commands_use_only_declared_outputs() -> None:
    docs = "\n".join(
        path.read_text()
        for path in (INFRA.parent / "README.md", INFRA / "README.md", INFRA.parent / "cloudbuild.yaml")
    )
    used = set(re.findall(r"\$\(out (\w+)\)", docs)) | set(re.findall(r"output -raw (\w+)", docs))
    assert used, "the deploy commands take their values from Terraform outputs"
    assert used <= set(ROOT.named("output")), f"undeclared outputs: {used - set(ROOT.named('output'))}"


def test_every_documented_cloud_function_deploy_requires_authentication() -> None:
    deploys = 0
    for path in (INFRA.parent / "README.md", INFRA / "README.md", INFRA.parent / "cloudbuild.yaml"):
        text = path.read_text().replace("\\\n", " ")  # join shell continuation lines
        assert "--allow-unauthenticated" not in text, path
        for line in text.splitlines():
            if re.search(r"gcloud (functions|run) deploy \S+ .*--", line):  # a command, not prose
                deploys += 1
                assert "--no-allow-unauthenticated" in line, f"{path}: {line}"
    assert deploys >= 2
