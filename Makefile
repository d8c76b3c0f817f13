# The front door: people and CI call the same targets. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The decision core compiled by mypyc (tools/compile_core.py), rebuilt when a source changes.
CORE := hub/core/compiled.json
CORE_SOURCES := $(wildcard hub/core/*.py hub/core/*/*.py) tools/compile_core.py
# The suite checks that it runs the compiled core whenever the build above succeeded.
EXPECT_COMPILED = $$(test -f $(CORE) && echo 1)
INFRA = eval "$$($(BIN)/hub infra up)"

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

$(CORE): $(STAMP) $(CORE_SOURCES)
	$(BIN)/python -m tools.compile_core || echo "make: the core's Python sources will run (the same code, slower)"

install: $(STAMP) $(CORE) ## Create .venv, install the hub with its dev tools, compile the core

compiled: $(CORE) ## Compile the decision core with mypyc (install does; after an edit the sources run until this)

demo: $(CORE) ## Run the hub locally on its own Kafka and PostgreSQL with simulated traffic
	$(BIN)/hub demo --seconds $${DEMO_SECONDS:-60} $${DEMO_SERVE:+--serve}

test: $(CORE) ## Start local Kafka + PostgreSQL, run lint, types and the whole test suite
	$(MAKE) --no-print-directory lint typecheck browser prometheus k8s-tools asyncapi-tools
	$(INFRA) && HUB_EXPECT_COMPILED=$(EXPECT_COMPILED) $(BIN)/pytest -p no:cacheprovider

unit: $(CORE) prometheus ## Unit tests only (no services needed; promtool for the alert tests)
	HUB_EXPECT_COMPILED=$(EXPECT_COMPILED) $(BIN)/pytest -p no:cacheprovider tests/unit

fuzz: $(CORE) ## Fuzz ingest and the core (10,000 records), then the API on local PostgreSQL
	HUB_FUZZ_EXAMPLES=$${HUB_FUZZ_EXAMPLES:-10000} $(BIN)/pytest -p no:cacheprovider tests/unit/fuzz
	$(INFRA) && HUB_API_FUZZ_EXAMPLES=$${HUB_API_FUZZ_EXAMPLES:-300} $(BIN)/pytest -p no:cacheprovider tests/integration/test_api_fuzz.py

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check hub agents schemas tests bench tools
	$(BIN)/ruff format --check hub agents schemas tests bench tools

typecheck: $(STAMP) ## mypy --strict on hub, agents and schemas
	$(BIN)/mypy

schemas: $(STAMP) ## Regenerate schemas/json, schemas/asyncapi.yaml and schemas/openapi.json
	$(BIN)/python -m schemas.export
	$(BIN)/python -m hub.api.export

bench: $(CORE) ## Benchmark: full pipeline vs minimal Faust agent vs raw aiokafka, same broker; backtest rate
	$(INFRA) && $(BIN)/python -m bench

chaos: $(CORE) ## Fault-injection suite: kill -9, broker and PostgreSQL outages, rebalances under traffic, 10 seeds
	$(BIN)/python -m tests.chaos --profile full --seeds $${CHAOS_SEEDS:-1-10} $${CHAOS_JSON:+--json $$CHAOS_JSON}

browser: ## Install Debian's Chromium and ChromeDriver for the browser test, when missing
	deploy/ci/install-browser.sh

prometheus: ## Install Debian's Prometheus and promtool for the alert and dashboard tests, when missing
	deploy/ci/install-prometheus.sh

k8s-tools: ## Build helm, kubeconform and the Compose loader (pinned Go modules) into .cache/go-bin, when missing
	deploy/ci/install-k8s-tools.sh >/dev/null

asyncapi-tools: ## Install the pinned @asyncapi/parser (npm ci) into .cache/asyncapi, when missing
	deploy/ci/install-asyncapi-parser.sh >/dev/null

screenshot: $(CORE) browser ## Refresh docs/img/customer-360.png from the browser test
	mkdir -p docs/img
	$(INFRA) && HUB_SCREENSHOT=docs/img/customer-360.png $(BIN)/pytest -p no:cacheprovider tests/browser/test_customer_page.py

dashboard-picture: $(CORE) browser prometheus ## Refresh docs/img/dashboard.png: the dashboard's panels from a real Prometheus under traffic
	mkdir -p docs/img
	$(INFRA) && HUB_DASHBOARD_PICTURE=docs/img/dashboard.png $(BIN)/pytest -p no:cacheprovider tests/integration/test_dashboard.py

infra-up: $(STAMP) ## Start local Kafka + PostgreSQL (prints export lines)
	$(BIN)/hub infra up

infra-down: $(STAMP) ## Stop local Kafka + PostgreSQL
	$(BIN)/hub infra down

clean: ## Stop local services, remove the venv, caches and local data
	-$(BIN)/hub infra down --purge
	rm -rf $(VENV) .hub-data .infra .pytest_cache .mypy_cache .ruff_cache $(CORE)
	find hub/core -name '*.so' -delete

.PHONY: help install compiled demo test unit fuzz lint typecheck schemas bench chaos browser prometheus k8s-tools asyncapi-tools screenshot dashboard-picture infra-up infra-down clean
