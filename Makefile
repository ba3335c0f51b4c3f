# Two commands do everything on a fresh clone:
#   make demo   run the federation offline against the lab
#   make test   install what is needed, then run every check and test
# Both install their own Python venv (with uv) and Azurite (npm ci, from the committed lock file).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup install azure-cli test lint typecheck infra-check tfstub security pytest demo lab package import-times bench lock clean
.PHONY: doctor-azure-to-google doctor-google-to-azure serve-cloud-function serve-azure-function

include tools/prereqs.mk

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 24

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

CHECKOV_VENV := .venv-checkov

$(VENV)/.installed: requirements-dev.lock | $(UV)
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet -r requirements-dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# One install at a time (tools/with_lock.py): `make demo` twice at once on a fresh clone takes turns.
setup: prereqs  ## install the venv and Azurite (idempotent; safe to run concurrently)
	@$(PYTHON) tools/with_lock.py .setup.lock -- $(MAKE) --no-print-directory install

install: $(VENV)/.installed node_modules/.installed

# checkov and python-hcl2 both install a module named hcl2: checkov gets a venv of its own.
$(CHECKOV_VENV)/.installed: tools/requirements-checkov.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(CHECKOV_VENV)
	VIRTUAL_ENV=$(CHECKOV_VENV) $(UV) pip install --quiet -r tools/requirements-checkov.txt
	touch $@

# The Azure CLI for the interop tests: its own venv too (it pins its own azure-* and msal).
AZURE_CLI_VENV := .venv-azure-cli

$(AZURE_CLI_VENV)/.installed: tools/requirements-azure-cli.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(AZURE_CLI_VENV)
	VIRTUAL_ENV=$(AZURE_CLI_VENV) $(UV) pip install --quiet -r tools/requirements-azure-cli.txt
	touch $@

azure-cli: $(AZURE_CLI_VENV)/.installed  ## the Azure CLI the interop tests drive (own venv, pinned)

lint: setup  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup  ## mypy --strict
	$(BIN)/mypy lab shared gcp_function azure_function tools bench tests

pytest: setup $(AZURE_CLI_VENV)/.installed  ## the test suite only (PYTEST_ARGS="-m fidelity" to pick a group)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The stand-in Terraform providers (tools/tfstub): their own venv (the `tf` framework needs protobuf < 6),
# then the provider schemas from the pinned cdktn-provider-* wheels and a filesystem mirror serving them.
TFSTUB_VENV := .venv-tfstub
TFSTUB      := build/tfstub

$(TFSTUB_VENV)/.installed: tools/requirements-tfstub.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(TFSTUB_VENV)
	VIRTUAL_ENV=$(TFSTUB_VENV) $(UV) pip install --quiet -r tools/requirements-tfstub.txt
	touch $@

$(TFSTUB)/terraformrc: $(TFSTUB_VENV)/.installed tools/tfstub/mirror.py tools/tfstub/cdktn_schema.py | $(VENV)/.installed
	@command -v terraform >/dev/null || exit 0  # infra-check says what to do
	$(BIN)/python -m tools.tfstub.mirror $(TFSTUB) $(TFSTUB_VENV)/bin/python

tfstub: $(TFSTUB)/terraformrc  ## the offline stand-in providers for terraform (build/tfstub)

# Without terraform: one line saying how to get it, checkov still runs, and `make test` fails at its end.
infra-check: $(CHECKOV_VENV)/.installed $(TFSTUB)/terraformrc  ## terraform fmt/init/validate/test (offline, stand-in providers) and checkov over infra/
	@if command -v terraform >/dev/null; then $(BIN)/python -m tools.tfstub.check infra; else $(BIN)/python -m tools.tfstub.check infra || true; fi
	$(CHECKOV_VENV)/bin/checkov -d infra --framework terraform --skip-download --compact --quiet

# bandit: product code strictly, skipping only B105 (names such as *_TOKEN_* or AZURE_CLIENT_SECRET are
# not passwords) and B311 (retry jitter is not cryptography); dev tooling (the lab, tools, bench) also
# skips asserts, fixed subprocess command lines, the lab's fault-injection randomness and B608 (the lab's
# BigQuery builds DuckDB tables from its own topology file: identifiers quoted, values bound).
# detect-secrets: every tracked file against .secrets.baseline, which holds no secret.
security: setup  ## bandit and a secret scan of every tracked file
	$(BIN)/bandit -q -r shared gcp_function azure_function -s B105,B311
	$(BIN)/bandit -q -r lab tools bench -s B101,B105,B106,B311,B404,B603,B608
	git ls-files -z | xargs -0 $(BIN)/detect-secrets-hook --baseline .secrets.baseline

test: lint typecheck infra-check security pytest  ## every check and every test
	@command -v terraform >/dev/null || { $(BIN)/python -m tools.tfstub.check; exit 1; }

demo: setup  ## both functions over HTTP against the lab, with a per-hop trace
	$(BIN)/python -m lab.scenarios.demo

lab: setup  ## run the lab in the foreground; each role's settings in .lab/ while it runs
	$(BIN)/python -m lab

# Against a running lab (make lab in another shell): load a role's settings from .lab/.
LAB_DIR := .lab
# A lab killed without its cleanup (SIGKILL, a crash) leaves .lab/ behind: check its process too, or every hop
# would fail with "connection refused" and a fix that points at the clouds' settings.
need-lab = @test -f $(LAB_DIR)/$(1).env || { echo "no lab running: start it with make lab in another shell (it writes $(LAB_DIR)/$(1).env)" >&2; exit 1; }; \
	kill -0 "$$(cat $(LAB_DIR)/lab.pid 2>/dev/null)" 2>/dev/null || { echo "no lab running: $(LAB_DIR)/ is left from a lab that stopped without cleaning up; start it again with make lab in another shell" >&2; exit 1; }

doctor-azure-to-google: setup  ## doctor, your laptop's Azure -> Google settings (.lab/), against make lab
	$(call need-lab,azure-to-google)
	. ./$(LAB_DIR)/azure-to-google.env && $(BIN)/python -m shared doctor azure-to-google

doctor-google-to-azure: setup  ## doctor, your laptop's Google -> Azure settings (.lab/), against make lab
	$(call need-lab,google-to-azure)
	. ./$(LAB_DIR)/google-to-azure.env && $(BIN)/python -m shared doctor google-to-azure

serve-cloud-function: setup  ## build/gcp_function on :8080 (functions-framework), against make lab
	$(call need-lab,cloud-function)
	$(BIN)/python -m tools.package gcp_function
	. ./$(LAB_DIR)/cloud-function.env && exec $(BIN)/functions-framework --target=list_blobs \
	  --source=build/gcp_function/main.py --host=127.0.0.1 --port=8080

# The role's env file too, not only local.settings.json: a value already in the environment wins over
# local.settings.json (as with Core Tools), so a machine-wide REQUESTS_CA_BUNDLE would hide the lab's CA.
serve-azure-function: setup  ## build/azure_function on :7071 (local host, local.settings.json), against make lab
	$(call need-lab,azure-function)
	$(BIN)/python -m tools.package azure_function
	cp $(LAB_DIR)/local.settings.json build/azure_function/local.settings.json
	. ./$(LAB_DIR)/azure-function.env && exec $(BIN)/python lab/hosting/functions_host.py build/azure_function \
	  --host=127.0.0.1 --port=7071

package: setup  ## build/gcp_function and build/azure_function: deployable, shared/ vendored
	$(BIN)/python -m tools.package

import-times: setup  ## what importing each entrypoint costs at cold start (docs/COLD_START.md)
	$(BIN)/python -m bench.imports

bench: setup  ## this project vs the official libraries, against the lab: docs/BENCHMARKS.md, docs/benchmarks.json
	$(BIN)/python -m bench $(BENCH_ARGS)

FUNCTION_LOCK = $(UV) pip compile --quiet --no-header --no-annotate -c requirements-dev.lock pyproject.toml

lock: | $(UV)  ## re-pin requirements-dev.lock and both functions' requirements.txt from pyproject.toml
	$(UV) pip compile --quiet --extra dev pyproject.toml -o requirements-dev.lock
	$(UV) pip compile --quiet --no-header --python-version 3.11 tools/requirements-checkov.in | cat tools/requirements-checkov.header - > tools/requirements-checkov.txt
	$(UV) pip compile --quiet --no-header --python-version 3.11 tools/requirements-tfstub.in | cat tools/requirements-tfstub.header - > tools/requirements-tfstub.txt
	$(UV) pip compile --quiet --no-header --python-version 3.11 tools/requirements-azure-cli.in | cat tools/requirements-azure-cli.header - > tools/requirements-azure-cli.txt
	$(FUNCTION_LOCK) --extra gcp-function | cat tools/requirements-header.txt - | sed 's/{function}/gcp_function/; s/{extra}/gcp-function/' > gcp_function/requirements.txt
	$(FUNCTION_LOCK) --extra azure-function | cat tools/requirements-header.txt - | sed 's/{function}/azure_function/; s/{extra}/azure-function/' > azure_function/requirements.txt

clean:  ## remove the venv, node_modules and build output
	rm -rf $(VENV) $(CHECKOV_VENV) $(TFSTUB_VENV) $(AZURE_CLI_VENV) node_modules build .setuptools-build .mypy_cache .ruff_cache
