"""The lab and the Terraform describe the same federation.

``terraform.tfvars.example`` carries the lab's identifiers; each check below evaluates what
the Terraform would provision from it (issuer, audience, condition, subject, members, roles,
scopes, settings) and compares it with what the lab's default topology emulates. What passes
in the lab is then what Terraform provisions. The identifiers a real deployment generates
(object and client IDs, unique IDs, the pool's random suffix) come from the topology.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lab.core import topology
from lab.core.runtime import Lab
from lab.core.topology import Application, Topology
from lab.hosting import functions
from tests.support.infra import INFRA, branches, load, render, tfvars_example

LAB = topology.load(topology.DEFAULT_TOPOLOGY)
TFVARS = tfvars_example()
ROOT = load()
AZURE_TO_GOOGLE = load(INFRA / "modules" / "azure_to_google")
GOOGLE_TO_AZURE = load(INFRA / "modules" / "google_to_azure")


def app_named(lab: Topology, display_name: str) -> Application:
    return next(a for a in lab.applications if a.display_name == display_name)


def function_app_identity(lab: Topology) -> Any:
    return next(m for m in lab.managed_identities if m.name == TFVARS["function_app_name"])


def test_tenant_project_and_names() -> None:
    assert LAB.tenants[0].tenant_id == TFVARS["azure_tenant_id"]
    assert LAB.project(TFVARS["gcp_project_id"]) is not None
    provider = LAB.workload_identity_pool_providers[0]
    assert provider.project_id == TFVARS["gcp_project_id"]
    assert provider.workload_identity_pool_id == TFVARS["workload_identity_pool_id"]
    assert provider.workload_identity_pool_provider_id == TFVARS["workload_identity_pool_provider_id"]
    accounts = {a.account_id for a in LAB.service_accounts if a.project_id == TFVARS["gcp_project_id"]}
    assert {TFVARS["bigquery_service_account_id"], TFVARS["cloud_function_service_account_id"]} <= accounts
    assert LAB.runtime.metadata_service_account.split("@")[0] == TFVARS["cloud_function_service_account_id"]
    assert LAB.runtime.app_service_managed_identity == TFVARS["function_app_name"]
    assert any(d.dataset_id == TFVARS["bigquery_dataset_id"] for d in LAB.bigquery_datasets)


def test_provider_issuer_audience_and_condition() -> None:
    provider = LAB.workload_identity_pool_providers[0]
    audience_app = app_named(LAB, TFVARS["audience_app_display_name"])
    version = TFVARS["azure_token_version"]
    assert audience_app.requested_access_token_version == version

    v1_issuer, v2_issuer = branches(AZURE_TO_GOOGLE.locals()["issuer_uri"])
    issuer = render(v1_issuer if version == 1 else v2_issuer, tenant_id=TFVARS["azure_tenant_id"])
    assert provider.issuer_uri == issuer
    identifier_uri = render(
        AZURE_TO_GOOGLE.resource("azuread_application_identifier_uri", "audience")["identifier_uri"].replace(
            "${azuread_application.audience.client_id}", audience_app.client_id
        )
    )
    assert audience_app.identifier_uris == (identifier_uri,)
    assert provider.allowed_audiences == ((identifier_uri,) if version == 1 else (audience_app.client_id,))

    terraform = AZURE_TO_GOOGLE.resource("google_iam_workload_identity_pool_provider", "entra")
    assert provider.attribute_mapping == terraform["attribute_mapping"]
    template = terraform["attribute_condition"].split(" && ")[0]
    tenant_clause = render(template, tenant_id=TFVARS["azure_tenant_id"])
    assert provider.attribute_condition.startswith(tenant_clause + " && assertion.oid in [")
    assert f"'{function_app_identity(LAB).principal_id}'" in provider.attribute_condition


def test_service_account_impersonation_and_bigquery_roles() -> None:
    assert TFVARS["impersonate_service_account"] is True
    number = LAB.project(TFVARS["gcp_project_id"]).number  # type: ignore[union-attr]
    pool_name = render(
        AZURE_TO_GOOGLE.locals()["pool_name"].replace("${local.pool_id}", "${var.pool_id}"),
        project_number=number,
        pool_id=TFVARS["workload_identity_pool_id"],
    )
    principal = (
        f"principal://iam.googleapis.com/{pool_name}/subject/{function_app_identity(LAB).principal_id}"
    )
    account = f"{TFVARS['bigquery_service_account_id']}@{TFVARS['gcp_project_id']}.iam.gserviceaccount.com"
    roles = {
        name: AZURE_TO_GOOGLE.resource(kind, name)["role"]
        for kind, name in (
            ("google_service_account_iam_member", "workload_identity_user"),
            ("google_project_iam_member", "bigquery_job_user"),
            ("google_bigquery_dataset_iam_member", "data_viewer"),
        )
    }

    assert principal in LAB.members_with_role(
        f"projects/{TFVARS['gcp_project_id']}/serviceAccounts/{account}", roles["workload_identity_user"]
    )
    assert f"serviceAccount:{account}" in LAB.members_with_role(
        f"projects/{TFVARS['gcp_project_id']}", roles["bigquery_job_user"]
    )
    assert f"serviceAccount:{account}" in LAB.members_with_role(
        f"projects/{TFVARS['gcp_project_id']}/datasets/{TFVARS['bigquery_dataset_id']}", roles["data_viewer"]
    )


def test_federated_credential_and_storage_role() -> None:
    reader = app_named(LAB, TFVARS["blob_reader_app_display_name"])
    terraform = GOOGLE_TO_AZURE.resource("azuread_application_federated_identity_credential", "google")
    runtime = LAB.service_account(LAB.runtime.metadata_service_account)
    assert runtime is not None
    (fic,) = reader.federated_identity_credentials
    assert (fic.issuer, fic.audiences, fic.subject) == (
        terraform["issuer"],
        tuple(terraform["audiences"]),
        runtime.unique_id,
    )

    (assignment,) = [r for r in LAB.role_assignments if r.principal_id == reader.service_principal_object_id]
    role = GOOGLE_TO_AZURE.named("variable")["storage_role_definition_name"]["default"]
    scope = (
        f"/subscriptions/{TFVARS['azure_subscription_id']}/resourceGroups/{TFVARS['resource_group_name']}"
        f"/providers/Microsoft.Storage/storageAccounts/{TFVARS['storage_account_name']}"
        f"/blobServices/default/containers/{TFVARS['storage_container_name']}"
    )
    assert (assignment.role_definition_name, assignment.scope) == (role, scope)
    container = LAB.storage_containers[0]
    assert (container.storage_account_name, container.name) == (
        TFVARS["storage_account_name"],
        TFVARS["storage_container_name"],
    )


@pytest.mark.parametrize(
    ("module", "block", "settings_of"),
    [
        ("cloud_function", "environment", functions.cloud_function_settings),
        ("azure_function", "app_settings", functions.function_app_settings),
    ],
)
def test_terraform_writes_the_settings_the_lab_gives_the_functions(
    lab: Lab, module: str, block: str, settings_of: Callable[[Lab], dict[str, str]]
) -> None:
    written = set(ROOT.named("module")[module][block])
    lab_only = {"BIGQUERY_API_ENDPOINT"}  # points google-cloud-bigquery at the lab's endpoint
    optional = {"BIGQUERY_LOCATION"}  # the function's default (US) in the lab

    assert set(settings_of(lab)) - lab_only == written - optional


def test_the_example_tfvars_sets_every_variable_without_a_default() -> None:
    variables = ROOT.named("variable")
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(TFVARS)
    assert set(TFVARS) <= set(variables), f"unknown variables {set(TFVARS) - set(variables)}"
    assert Path(INFRA / "terraform.tfvars.example").read_text().count("secret") == 0
