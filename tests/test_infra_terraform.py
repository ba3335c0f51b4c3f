"""The real terraform over infra/, offline: the check catches the faults it exists for.

``make infra-check`` builds the stand-in providers (tools/tfstub: the providers' real schemas from the
cdktn-provider-* wheels) and runs validate/test on the tree; these tests plant a fault in a copy and
show that the same commands fail, naming it. Terraform's regex engine (Go's RE2) refuses repeat
counts above 1000 (https://pkg.go.dev/regexp/syntax: "repeat count too large" past 1000), so
``can(regex("^[A-Za-z0-9_]{1,1024}$", ...))`` is false for every value — the bug issue 14 found.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tools.tfstub import check
from tools.tfstub.values import plan_block, read_data

NEEDS_TERRAFORM = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason=check.TERRAFORM_HELP),
    pytest.mark.skipif(
        not (check.BUILD / "terraformrc").exists(), reason="stand-in providers not built: make tfstub"
    ),
    pytest.mark.timeout(300),
]


def needs_terraform(test: Any) -> Any:
    """terraform on PATH and the stand-ins built (``make infra-check`` builds them before pytest)."""
    for mark in NEEDS_TERRAFORM:
        test = mark(test)
    return test


def _validate(infra: Path, tmp_path: Path) -> str:
    copy = check.copy_infra(infra, tmp_path)
    check.terraform(["init", "-backend=false", "-input=false", "-no-color"], copy)
    return check.terraform(["validate", "-no-color"], copy, config_dir=copy)


def _planted(tmp_path: Path, file: str, old: str, new: str) -> Path:
    source = tmp_path / "source"
    shutil.copytree(check.REPO / "infra", source, ignore=shutil.ignore_patterns(".terraform*"))
    text = (source / file).read_text()
    assert old in text, f"{file} no longer holds {old!r}: update the test"
    (source / file).write_text(text.replace(old, new, 1))
    return source


PLANTED = {
    # The bug issue 14 found: RE2 refuses the repeat count, can() is false for every value.
    "repeat_count_over_1000": (
        "variables.tf",
        'length(var.bigquery_dataset_id) <= 1024 && can(regex("^[A-Za-z0-9_]+$", var.bigquery_dataset_id))',
        'can(regex("^[A-Za-z0-9_]{1,1024}$", var.bigquery_dataset_id))',
        ["Invalid value for variable", "bigquery_dataset_id"],
    ),
    # An argument of another resource (the federated credential's `issuer`) in the pool provider's oidc block.
    "unknown_argument": (
        "modules/azure_to_google/main.tf",
        "    issuer_uri        = local.issuer_uri\n",
        "    issuer_uri        = local.issuer_uri\n    issuer            = local.issuer_uri\n",
        ['An argument named "issuer" is not expected here.'],
    ),
    # azurerm_function_app: deprecated in azurerm 3.0 and removed in 4.0 (its 3.x page:
    # terraform-provider-azurerm v3.117.1 website/docs/r/function_app.html.markdown).
    "resource_type_removed_in_azurerm_4": (
        "modules/azure_function/main.tf",
        'resource "azurerm_linux_function_app" "this" {',
        'resource "azurerm_function_app" "this" {',
        ["azurerm_function_app"],
    ),
}


@needs_terraform
@pytest.mark.parametrize("fault", sorted(PLANTED))
def test_a_planted_fault_fails_validate(fault: str, tmp_path: Path) -> None:
    file, old, new, expected = PLANTED[fault]
    source = _planted(tmp_path, file, old, new)
    with pytest.raises(check.CheckFailed) as failure:
        _validate(source, tmp_path / "work")
    said = " ".join(str(failure.value).split())
    for words in expected:
        assert words in said


# -- the stand-in's planning, on its own -----------------------------------------------------

UNKNOWN = object()
BLOCK = {
    "attributes": {
        "name": {"type": "string", "required": True},
        "unique_id": {"type": "string", "computed": True},
        "project": {"type": "string", "optional": True, "computed": True},
    },
    "block_types": {
        "oidc": {
            "nesting_mode": "list",
            "max_items": 1,
            "block": {
                "attributes": {
                    "issuer_uri": {"type": "string", "required": True},
                    "jwks": {"type": "string", "computed": True},
                }
            },
        }
    },
}


def test_plan_makes_unset_computed_attributes_unknown_on_create() -> None:
    config = {"name": "a", "unique_id": None, "project": "p", "oidc": [{"issuer_uri": "i", "jwks": None}]}
    planned = plan_block(BLOCK, config, config, None, UNKNOWN)
    assert planned["unique_id"] is UNKNOWN and planned["project"] == "p" and planned["name"] == "a"
    assert planned["oidc"][0]["jwks"] is UNKNOWN and planned["oidc"][0]["issuer_uri"] == "i"


def test_plan_keeps_prior_computed_values_on_update() -> None:
    prior = {"name": "a", "unique_id": "123", "project": "p", "oidc": [{"issuer_uri": "i", "jwks": "k"}]}
    config = {"name": "a", "unique_id": None, "project": None, "oidc": [{"issuer_uri": "i", "jwks": None}]}
    assert plan_block(BLOCK, config, prior, prior, UNKNOWN) == prior


def test_data_sources_get_plausible_values_of_the_right_type() -> None:
    data = read_data(
        {
            "attributes": {
                "number": {"type": "string", "computed": True},
                "labels": {"type": ["map", "string"], "computed": True},
            }
        },
        {},
    )
    assert data["number"].isdigit() and data["labels"] == {}


# -- the schemas read back from the cdktn wheels match the providers' documentation ----------


def _schema(provider: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((check.BUILD / "schemas" / f"{provider}.json").read_text())
    return schema


@needs_terraform
def test_the_served_versions_are_todays_majors() -> None:
    served = json.loads((check.BUILD / "versions.json").read_text())
    assert served["google"] == "8.7.0" and served["azurerm"] == "5.10.0" and served["azuread"] == "3.10.0"


@needs_terraform
def test_schema_facts_from_the_registry_docs() -> None:
    """Each fact is in the provider's registry page for the resource:
    registry.terraform.io/providers/hashicorp/google/latest/docs/resources/iam_workload_identity_pool_provider
    (oidc: at most one block; issuer_uri required), .../azuread/latest/docs/resources/
    application_federated_identity_credential (application_id, audiences, display_name, issuer, subject
    required; credential_id exported), .../azurerm/latest/docs/resources/storage_container
    (storage_account_id required), .../google/latest/docs/resources/google_service_account (unique_id,
    email exported)."""
    pool_provider = _schema("google")["resource_schemas"]["google_iam_workload_identity_pool_provider"][
        "block"
    ]
    oidc = pool_provider["block_types"]["oidc"]
    assert (oidc["nesting_mode"], oidc.get("max_items")) == ("list", 1)
    assert oidc["block"]["attributes"]["issuer_uri"].get("required")
    assert oidc["block"]["attributes"]["allowed_audiences"]["type"] == ["list", "string"]
    fic = _schema("azuread")["resource_schemas"]["azuread_application_federated_identity_credential"]["block"]
    required = {k for k, a in fic["attributes"].items() if a.get("required")}
    assert required == {"application_id", "audiences", "display_name", "issuer", "subject"}
    assert fic["attributes"]["credential_id"] == {"computed": True, "type": "string"}
    container = _schema("azurerm")["resource_schemas"]["azurerm_storage_container"]["block"]["attributes"]
    assert container["storage_account_id"].get("required")
    account = _schema("google")["resource_schemas"]["google_service_account"]["block"]["attributes"]
    assert account["unique_id"] == {"computed": True, "type": "string"} and account["account_id"].get(
        "required"
    )


@needs_terraform
def test_reattached_stand_ins_serve_and_are_stopped(tmp_path: Path) -> None:
    """The long-lived stand-ins `terraform test` attaches to answer, and none outlives the check."""
    copy = check.copy_infra(check.REPO / "infra", tmp_path)
    check.terraform(
        ["init", "-backend=false", "-input=false", "-no-color"], copy / "modules" / "blob_storage"
    )
    with check.reattached(copy) as attach:
        pids = [p["Pid"] for p in json.loads(attach["TF_REATTACH_PROVIDERS"]).values()]
        assert set(json.loads(attach["TF_REATTACH_PROVIDERS"])) >= {
            "registry.terraform.io/hashicorp/google",
            "registry.terraform.io/hashicorp/azurerm",
        }
        out = check.terraform(
            ["test", "-no-color"], copy / "modules" / "blob_storage", config_dir=copy, extra_env=attach
        )
        assert "1 passed, 0 failed" in out
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid
