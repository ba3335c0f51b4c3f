"""infra/ without providers: the module wiring resolves, and the security-critical values are right.

``terraform fmt -check`` and checkov run in ``make infra-check``; this covers what they cannot:
that every reference and module input resolves (in place of ``terraform validate``), and that
issuers, audiences, subjects, principal members, roles and scopes are the ones federation needs.
"""

from __future__ import annotations

import re

import pytest

from tests.support.infra import INFRA, branches, load, modules

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


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_reference_resolves(name: str) -> None:
    module = modules()[name]
    declared = set(module.named("variable"))
    assert {v for v, _ in module.references("var")} <= declared
    assert {v for v, _ in module.references("local")} <= set(module.locals())
    calls = module.named("module")
    for called, output in module.references("module"):
        assert called in calls, f"module.{called} is not declared"
        target = load((module.path / calls[called]["source"]).resolve())
        assert output in target.named("output"), f"module.{called} has no output {output}"


def test_module_inputs_match_their_variables() -> None:
    for name, call in ROOT.named("module").items():
        target = load((INFRA / call["source"]).resolve())
        variables = target.named("variable")
        given = set(call) - {"source", "depends_on", "providers"}
        assert given <= set(variables), f"module.{name}: unknown inputs {given - set(variables)}"
        required = {v for v, body in variables.items() if "default" not in body}
        assert required <= given, f"module.{name}: missing inputs {required - given}"


def test_provider_versions() -> None:
    providers = ROOT.blocks["terraform"][0]["required_providers"][0]
    minimum = {name: re.search(r">=\s*(\d+)", spec["version"])[1] for name, spec in providers.items()}  # type: ignore[index]
    assert {k: int(v) for k, v in minimum.items() if k in ("google", "azuread", "azurerm")} == {
        "google": 6,
        "azuread": 3,
        "azurerm": 4,
    }


def test_user_input_is_validated() -> None:
    validated = {name for name, body in ROOT.named("variable").items() if body.get("validation")}
    assert validated >= {
        "gcp_project_id",
        "azure_tenant_id",
        "azure_subscription_id",
        "workload_identity_pool_id",
        "workload_identity_pool_provider_id",
        "azure_token_version",
        "storage_account_name",
        "storage_container_name",
        "function_app_name",
        "cloud_function_invokers",
        "cloud_function_ingress",
    }


def test_every_checkov_skip_is_justified() -> None:
    skips = re.findall(r"checkov:skip=(\S+?):(.*)", "\n".join(m.text for m in modules().values()))
    assert skips
    for check, reason in skips:
        assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", check), check
        assert len(reason.strip()) >= 30, f"{check}: the skip needs a reason"


# -- Google -> Azure --------------------------------------------------------------------------


def test_federated_credential_trusts_the_functions_service_account_by_unique_id() -> None:
    fic = GOOGLE_TO_AZURE.resource("azuread_application_federated_identity_credential", "google")
    assert fic["issuer"] == "https://accounts.google.com"
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
    assert fic["subject"] == "${var.service_account_unique_id}"
    assert fic["application_id"] == "${azuread_application.this.id}"  # azuread v3: the resource ID
    wiring = ROOT.named("module")["google_to_azure"]
    assert wiring["service_account_unique_id"] == "${module.cloud_function.service_account_unique_id}"
    output = CLOUD_FUNCTION.named("output")["service_account_unique_id"]["value"]
    assert output == "${google_service_account.runtime.unique_id}", (
        "the subject must be the unique ID, not the e-mail"
    )


def test_blob_reader_role_is_scoped_to_the_container() -> None:
    assignment = GOOGLE_TO_AZURE.resource("azurerm_role_assignment", "reader")
    assert assignment["principal_id"] == "${azuread_service_principal.this.object_id}"
    assert (
        GOOGLE_TO_AZURE.named("variable")["storage_role_definition_name"]["default"]
        == "Storage Blob Data Reader"
    )
    assert (
        ROOT.named("module")["google_to_azure"]["storage_container_scope"]
        == "${module.blob_storage.container_id}"
    )
    assert BLOB_STORAGE.named("output")["container_id"]["value"] == "${azurerm_storage_container.this.id}"


def test_blob_storage_is_private_and_entra_only() -> None:
    account = BLOB_STORAGE.resource("azurerm_storage_account", "this")
    assert (account["min_tls_version"], account["https_traffic_only_enabled"]) == ("TLS1_2", True)
    assert account["shared_access_key_enabled"] is False
    assert account["allow_nested_items_to_be_public"] is False
    assert BLOB_STORAGE.resource("azurerm_storage_container", "this")["container_access_type"] == "private"


# -- Azure -> Google --------------------------------------------------------------------------


def test_provider_issuer_and_audience_follow_the_token_version() -> None:
    local = AZURE_TO_GOOGLE.locals()
    assert branches(local["issuer_uri"]) == (
        "https://sts.windows.net/${var.tenant_id}/",
        "https://login.microsoftonline.com/${var.tenant_id}/v2.0",
    )
    assert local["audience"].startswith("${var.token_version == 1 ? ")
    assert '"api://${azuread_application.audience.client_id}"' in local["audience"]
    provider = AZURE_TO_GOOGLE.resource("google_iam_workload_identity_pool_provider", "entra")
    assert provider["oidc"][0] == {
        "issuer_uri": "${local.issuer_uri}",
        "allowed_audiences": ["${local.audience}"],
    }
    app = AZURE_TO_GOOGLE.resource("azuread_application", "audience")
    assert app["api"][0]["requested_access_token_version"] == "${var.token_version}"
    uri = AZURE_TO_GOOGLE.resource("azuread_application_identifier_uri", "audience")
    assert uri["identifier_uri"] == "api://${azuread_application.audience.client_id}"


def test_provider_maps_and_restricts_to_the_tenant_and_listed_identities() -> None:
    provider = AZURE_TO_GOOGLE.resource("google_iam_workload_identity_pool_provider", "entra")
    assert provider["attribute_mapping"] == {
        "google.subject": "assertion.sub",
        "attribute.tid": "assertion.tid",
        "attribute.oid": "assertion.oid",
    }
    condition = provider["attribute_condition"]
    assert condition.startswith("assertion.tid == '${var.tenant_id}' && assertion.oid in [")
    assert "values(var.allowed_principals)" in condition
    assert ROOT.named("module")["azure_to_google"]["allowed_principals"] == {
        "function_app": "${module.azure_function.principal_id}"
    }
    assert AZURE_FUNCTION.named("output")["principal_id"]["value"] == (
        "${azurerm_linux_function_app.this.identity[0].principal_id}"
    )


def test_principal_members_use_the_project_number_and_the_subject() -> None:
    local = AZURE_TO_GOOGLE.locals()
    assert (
        local["pool_name"]
        == "projects/${var.project_number}/locations/global/workloadIdentityPools/${local.pool_id}"
    )
    assert '"principal://iam.googleapis.com/${local.pool_name}/subject/${id}"' in local["principals"]
    assert ROOT.named("module")["azure_to_google"]["project_number"] == "${data.google_project.this.number}"
    assert "random_id.pool_suffix.hex" in local["pool_id"], (
        "pools are soft-deleted for 30 days: suffix the ID"
    )


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


def test_cloud_function_is_never_public() -> None:
    invoker = CLOUD_FUNCTION.resource("google_cloud_run_v2_service_iam_member", "invoker")
    assert invoker["role"] == "roles/run.invoker"
    assert invoker["for_each"] == "${toset(var.invokers)}"
    code = "\n".join(m.code for m in modules().values())
    assert not re.search(r'member\s*=\s*"all(Authenticated)?Users"', code)
    function = CLOUD_FUNCTION.resource("google_cloudfunctions2_function", "this")
    service = function["service_config"][0]
    assert service["service_account_email"] == "${google_service_account.runtime.email}"
    assert service["ingress_settings"] == "${var.ingress}"
    assert function["build_config"][0]["entry_point"] == "list_blobs"
    bucket = CLOUD_FUNCTION.resource("google_storage_bucket", "source")
    assert bucket["public_access_prevention"] == "enforced"


def test_function_app_is_https_only_with_a_managed_identity() -> None:
    app = AZURE_FUNCTION.resource("azurerm_linux_function_app", "this")
    assert app["https_only"] is True
    assert app["identity"][0]["type"] == "SystemAssigned"
    assert app["ftp_publish_basic_authentication_enabled"] is False
    assert app["webdeploy_publish_basic_authentication_enabled"] is False
    assert app["storage_uses_managed_identity"] is True
    site = app["site_config"][0]
    assert (site["minimum_tls_version"], site["scm_minimum_tls_version"], site["ftps_state"]) == (
        "1.2",
        "1.2",
        "Disabled",
    )
    assert site["application_stack"][0]["python_version"] == "3.11"


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
