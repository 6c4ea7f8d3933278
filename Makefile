# Set-up, run and test Meshway. Every target is idempotent: a second run does nothing it need not.
#   make run    set everything up on a fresh machine and run `meshway server` on 127.0.0.1:7700
#               with the getting-started demo mesh and its traffic (as root; DEMO= to leave it out)
#   make test   set everything up and run lint, types, import contracts and the whole test suite

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7700
DATA_DIR ?= .meshway
PYTEST_ARGS ?=
# `make run` brings up the getting-started mesh (cli/demo.py); not as root the server explains
# that it cannot run tasks and serves the API only.
DEMO ?= --demo
LINT_PATHS := src tests bench

# Debian packages the task runtime and the tests use (netns, iptables rules, health checks,
# test certificates, the console's browser tests).
DEB_PACKAGES := iptables iproute2 curl procps openssl chromium

# Stamps: the venv is (re)installed only when pyproject.toml is newer than the last install.
TEST_STAMP := $(VENV)/.meshway-test-installed
BENCH_STAMP := $(VENV)/.meshway-bench-installed

.PHONY: help venv deps run test lint types contracts pytest fmt bench clean

help:
	@echo "make run    set up and run meshway server on http://$(HOST):$(PORT) (data in $(DATA_DIR)/)"
	@echo "            with the demo mesh and its traffic as root (DEMO= leaves it out)"
	@echo "make test   set up and run ruff, mypy, lint-imports and pytest"
	@echo "make fmt    format and auto-fix lint"
	@echo "make bench  API throughput benchmark: Meshway vs moto (writes bench/results/)"

venv: $(TEST_STAMP)

$(TEST_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

# Installs only what is missing, only as root; elsewhere it names what to install and goes on.
deps:
	@command -v dpkg >/dev/null || exit 0; \
	missing=""; \
	for pkg in $(DEB_PACKAGES); do \
	  dpkg -s "$$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$pkg"; \
	done; \
	[ -n "$$missing" ] || exit 0; \
	if [ "$$(id -u)" != 0 ]; then echo "make deps: not root, skipping; install:$$missing" >&2; exit 0; fi; \
	echo "make deps: installing$$missing"; \
	apt-get update -qq; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null

run: deps venv
	exec $(BIN)/meshway server --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT) $(DEMO)

test: deps venv lint types contracts pytest

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

types: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

# pytest exits 5 when it collected no test; like any non-zero exit, that fails the target.
pytest: venv
	$(BIN)/pytest $(PYTEST_ARGS)

fmt: venv
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

bench: venv $(BENCH_STAMP)
	$(BIN)/python bench/api_throughput.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache src/*.egg-info
