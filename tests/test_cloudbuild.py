"""``cloudbuild.yaml``, read statically: the steps and their order, pinned images, the deploy flags,
keyless Azure sign-in (no secret anywhere, the OIDC token never printed) and the substitutions.

Cloud Build replaces ``$NAME`` and ``${NAME}`` in a step and turns ``$$`` into ``$``: the helpers
below read the scripts as the shell receives them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "cloudbuild.yaml"
TOKEN_FILE = "/workspace/.azure-oidc-token"

STEP_IDS = [
    "test",
    "package",
    "azure-oidc-token",
    "terraform",
    "deploy-cloud-function",
    "deploy-azure-function",
]

# `$$` (a literal dollar), `${NAME}` or `$NAME`: Cloud Build's substitution syntax.
DOLLAR_OR_SUBSTITUTION = re.compile(r"\$\$|\$\{(?P<braced>\w+)\}|\$(?P<bare>\w+)")
# The only ways a step may name the token file: write it, restrict it, hand it to az login.
ALLOWED_TOKEN_FILE_USES = [
    f"> {TOKEN_FILE}",
    f"chmod 600 {TOKEN_FILE}",
    f'--federated-token "$(cat {TOKEN_FILE})"',
]
SECRET_NAMES = re.compile(r"ARM_CLIENT_SECRET|AZURE_CLIENT_SECRET|client_secret|passw(or)?d", re.I)
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+")
PEM = re.compile(r"-----BEGIN [A-Z ]+-----")


# -- reading the config ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded = yaml.safe_load(CONFIG.read_text())
    assert isinstance(loaded, dict), "cloudbuild.yaml is not a mapping"
    return loaded


def steps(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config["steps"])


def step_ids(config: dict[str, Any]) -> list[str]:
    return [step.get("id", "") for step in steps(config)]


def step(config: dict[str, Any], step_id: str) -> dict[str, Any]:
    matching = [candidate for candidate in steps(config) if candidate.get("id") == step_id]
    assert len(matching) == 1, f"expected one step {step_id!r}, found {len(matching)}"
    return matching[0]


def step_index(config: dict[str, Any], step_id: str) -> int:
    return step_ids(config).index(step_id)


def step_env(step: dict[str, Any]) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in step.get("env", []))


def step_fields(step: dict[str, Any]) -> list[str]:
    """Every string of a step Cloud Build substitutes into: image, entrypoint, dir, env, args."""
    fields = [str(step.get(key, "")) for key in ("name", "entrypoint", "dir")]
    return fields + [str(entry) for entry in step.get("env", [])] + [str(arg) for arg in step.get("args", [])]


def as_shell_sees_it(text: str) -> str:
    """Cloud Build's `$$` escape undone (`${_SUBSTITUTIONS}` are left as they are)."""
    return text.replace("$$", "$")


def script(step: dict[str, Any]) -> str:
    """A step's arguments as the shell receives them, with `\\`-continued lines joined."""
    text = as_shell_sees_it("\n".join(str(arg) for arg in step.get("args", [])))
    return re.sub(r"\\\n\s*", " ", text)


def command_lines(step: dict[str, Any]) -> list[str]:
    return [line.strip() for line in script(step).splitlines() if line.strip()]


def first_line(lines: list[str], matches: Callable[[str], bool]) -> int:
    found = [index for index, line in enumerate(lines) if matches(line)]
    assert found, "no such line"
    return found[0]


def command(step: dict[str, Any], prefix: str) -> list[str]:
    """The one command line starting with `prefix`, split into words as the shell would."""
    found = [line for line in command_lines(step) if line.startswith(prefix)]
    assert len(found) == 1, f"expected one `{prefix}` in step {step.get('id')!r}, found {len(found)}"
    return shlex.split(found[0])


def substitutions_used(config: dict[str, Any]) -> set[str]:
    used = set()
    for text in (field for each in steps(config) for field in step_fields(each)):
        for match in DOLLAR_OR_SUBSTITUTION.finditer(text):
            name = match.group("braced") or match.group("bare")
            if name and name.startswith("_"):
                used.add(name)
    return used


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None without one); a digest counts as a tag."""
    if "@sha256:" in image:
        return image.split("@", 1)[1]
    last_part = image.rsplit("/", 1)[-1]
    return last_part.split(":", 1)[1] if ":" in last_part else None


def terraform_outputs_declared() -> set[str]:
    return set(re.findall(r'^output\s+"(\w+)"', (ROOT / "infra" / "outputs.tf").read_text(), re.M))


def terraform_variables_declared() -> set[str]:
    return set(re.findall(r'^variable\s+"(\w+)"', (ROOT / "infra" / "variables.tf").read_text(), re.M))


# -- the tests ---------------------------------------------------------------------------------


def test_the_yaml_is_a_build_with_steps_options_and_timeout(config: dict[str, Any]) -> None:
    assert steps(config)
    assert config["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    assert config["options"]["substitution_option"] == "ALLOW_LOOSE"
    assert config["timeout"] == "1800s"


def test_steps_run_in_order_test_package_token_terraform_deploys(config: dict[str, Any]) -> None:
    assert step_ids(config) == STEP_IDS


def test_every_image_is_pinned_to_a_version_or_digest(config: dict[str, Any]) -> None:
    for each in steps(config):
        image = each["name"]
        tag = image_tag(image)
        assert tag is not None, f"{image}: no tag (that is :latest)"
        assert tag != "latest", f"{image}: :latest is not a pin"
        assert re.search(r"\d", tag), f"{image}: {tag!r} names no version"


def test_test_step_runs_make_test(config: dict[str, Any]) -> None:
    assert command_lines(step(config, "test"))[-1] == "make test"


def test_package_step_runs_make_package(config: dict[str, Any]) -> None:
    assert "make package" in command_lines(step(config, "package"))


def test_terraform_download_is_checked_before_it_is_installed(config: dict[str, Any]) -> None:
    lines = command_lines(step(config, "test"))
    downloaded = first_line(lines, lambda line: "https://releases.hashicorp.com/terraform/" in line)
    sums_named = first_line(lines, lambda line: "_SHA256SUMS" in line)
    checked = first_line(lines, lambda line: "sha256sum -c" in line)
    installed = first_line(lines, lambda line: line.startswith("unzip"))
    assert downloaded < checked and sums_named < checked < installed


def test_terraform_cli_of_make_test_is_the_version_that_applies(config: dict[str, Any]) -> None:
    installed = step_env(step(config, "test"))["TERRAFORM_VERSION"]
    assert image_tag(step(config, "terraform")["name"]) == installed


def test_cloud_function_deploy_is_gen2_private_with_its_own_service_account(config: dict[str, Any]) -> None:
    words = command(step(config, "deploy-cloud-function"), "gcloud functions deploy")
    flags = {word.split("=", 1)[0] for word in words if word.startswith("--")}

    assert {"--gen2", "--no-allow-unauthenticated", "--service-account", "--trigger-http"} <= flags
    assert "--source=build/gcp_function" in words
    assert "--entry-point=list_blobs" in words
    assert "--runtime=python311" in words
    assert "--allow-unauthenticated" not in flags


def test_cloud_function_gets_every_setting_from_terraform_outputs(config: dict[str, Any]) -> None:
    words = command(step(config, "deploy-cloud-function"), "gcloud functions deploy")
    env_vars = next(word.split("=", 1)[1] for word in words if word.startswith("--set-env-vars="))
    names = {pair.split("=", 1)[0] for pair in env_vars.split(",")}
    assert names == {
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_STORAGE_ACCOUNT_URL",
        "AZURE_STORAGE_CONTAINER",
        "GOOGLE_CLOUD_PROJECT",
    }


def test_deploy_steps_read_only_outputs_infra_declares(config: dict[str, Any]) -> None:
    read = set()
    for step_id in ("deploy-cloud-function", "deploy-azure-function"):
        read |= set(re.findall(r"\$\(output (\w+)\)", script(step(config, step_id))))
    assert read, "the deploy steps read no terraform output"
    assert read <= terraform_outputs_declared(), (
        f"not in infra/outputs.tf: {read - terraform_outputs_declared()}"
    )


def test_terraform_step_overrides_only_declared_variables(config: dict[str, Any]) -> None:
    overridden = set(re.findall(r"-var=\"?(\w+)=", script(step(config, "terraform"))))
    assert overridden <= terraform_variables_declared()


def test_terraform_uses_remote_state_and_writes_its_outputs(config: dict[str, Any]) -> None:
    terraform = step(config, "terraform")
    lines = command_lines(terraform)
    assert terraform["dir"] == "infra"
    assert (ROOT / "infra" / "backend.tf.example").is_file()
    assert "cp backend.tf.example backend.tf" in lines
    assert lines[-1] == "terraform output -json > /workspace/tf-outputs.json"
    assert any(line.startswith("terraform apply -input=false -auto-approve") for line in lines)


def test_terraform_signs_in_to_azure_by_oidc_with_the_token_file(config: dict[str, Any]) -> None:
    env = step_env(step(config, "terraform"))
    assert env["ARM_USE_OIDC"] == "true"
    assert env["ARM_OIDC_TOKEN_FILE_PATH"] == TOKEN_FILE
    assert {"ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"} <= env.keys()


def test_azure_function_deploy_signs_in_with_the_federated_token(config: dict[str, Any]) -> None:
    login = command(step(config, "deploy-azure-function"), "az login")
    assert "--service-principal" in login
    assert login[login.index("--federated-token") + 1] == f"$(cat {TOKEN_FILE})"
    deploy = command(step(config, "deploy-azure-function"), "az functionapp deployment source config-zip")
    assert deploy[deploy.index("--src") + 1] == "build/azure_function.zip"
    # Flex Consumption builds Python remotely from a zip deploy (no WEBSITE_RUN_FROM_PACKAGE there):
    # https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#deploy-your-code-project
    assert deploy[deploy.index("--build-remote") + 1] == "true"
    image = step(config, "deploy-azure-function")["name"]
    assert tuple(int(x) for x in image.rsplit(":", 1)[1].split(".")[:2]) >= (2, 60), (
        "Flex Consumption needs Azure CLI 2.60+"
    )


def test_no_step_env_or_arg_names_a_secret(config: dict[str, Any]) -> None:
    for each in steps(config):
        for field in step_fields(each):
            assert not SECRET_NAMES.search(field), f"step {each['id']!r}: {SECRET_NAMES.search(field)}"
        assert "secretEnv" not in each
    assert "availableSecrets" not in config


def test_the_file_holds_no_token_key_or_connection_string() -> None:
    text = CONFIG.read_text()
    assert not JWT.search(text), "a JWT-looking string"
    assert not PEM.search(text), "a PEM block"
    assert "AccountKey=" not in text


def test_every_substitution_used_is_declared_and_every_declared_one_used(config: dict[str, Any]) -> None:
    declared = set(config["substitutions"])
    used = substitutions_used(config)
    assert used - declared == set(), "used but not declared"
    assert declared - used == set(), "declared but never used"


def test_substitution_defaults_are_identifiers_not_secrets(config: dict[str, Any]) -> None:
    for name, default in config["substitutions"].items():
        assert name.startswith("_") and name.isupper()
        assert isinstance(default, str)
        assert not SECRET_NAMES.search(name) and not JWT.search(default)


def test_oidc_token_is_written_before_the_steps_that_read_it(config: dict[str, Any]) -> None:
    writer = step(config, "azure-oidc-token")
    assert any(
        line.startswith("gcloud auth print-identity-token --audiences=api://AzureADTokenExchange")
        and line.endswith(f"> {TOKEN_FILE}")
        for line in command_lines(writer)
    )
    mentions = [
        each["id"] for each in steps(config) if any(TOKEN_FILE in field for field in step_fields(each))
    ]
    assert mentions == ["azure-oidc-token", "terraform", "deploy-azure-function"]
    assert step_index(config, "azure-oidc-token") < step_index(config, "terraform")
    assert step_index(config, "azure-oidc-token") < step_index(config, "deploy-azure-function")


def test_oidc_token_is_never_printed(config: dict[str, Any]) -> None:
    for each in steps(config):
        text = script(each)
        for allowed in ALLOWED_TOKEN_FILE_USES:
            text = text.replace(allowed, "")
        assert TOKEN_FILE not in text, f"step {each['id']!r} uses the token file in a way that may print it"


def test_no_step_traces_its_commands(config: dict[str, Any]) -> None:
    """`set -x` would print az login's --federated-token argument, expanded."""
    for each in steps(config):
        shell_flags = [arg for arg in each.get("args", []) if re.fullmatch(r"-[a-z]+", str(arg))]
        assert not any("x" in flags for flags in shell_flags), f"step {each['id']!r} runs with -x"
        assert not re.search(r"^\s*set\s+-\w*x", script(each), re.M), f"step {each['id']!r} sets -x"
