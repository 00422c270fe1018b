# Working on the template itself. `make help` lists the targets; the two that
# set up everything on a fresh machine are `make demo` and `make test`.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-k bake -x".
PYTEST_ARGS ?=
# The local cluster's mode: ACCOUNTING=1 with slurmdbd and MariaDB, 0 without.
# Unset: slurm-up starts it without accounting; demo, test and bench keep the
# mode of the cluster already up. Tests check that the cluster has this mode.
ACCOUNTING ?=
MODE_FLAG := $(if $(filter 1,$(ACCOUNTING)),--accounting,$(if $(filter 0,$(ACCOUNTING)),--no-accounting))
export ACCOUNTING

.PHONY: help venv demo test bench slurm-up slurm-down clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Create .venv with cookiecutter, Snakemake, the SLURM plugin and the test tools

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

demo: venv ## Bake a project with default answers and run its example on the local SLURM cluster
	local_cluster/up.sh --if-possible $(MODE_FLAG)
	PATH="$(BIN):$$PATH" tools/demo.sh

test: venv ## Run every test (the SLURM ones need the local cluster, started here when root)
	tools/system_packages.sh
	local_cluster/up.sh --if-possible $(MODE_FLAG)
	PATH="$(BIN):$$PATH" $(BIN)/pytest $(PYTEST_ARGS)

bench: venv ## Measure the generated profile against the plugin's defaults on the local cluster (bench/RESULTS.md)
	local_cluster/up.sh --if-possible $(MODE_FLAG)
	PATH="$(BIN):$$PATH" $(BIN)/python bench/run_bench.py

slurm-up: ## Start the local single-node SLURM cluster (root; installs what is missing); ACCOUNTING=1 adds slurmdbd
	local_cluster/up.sh $(or $(MODE_FLAG),--no-accounting)

slurm-down: ## Stop the daemons that slurm-up started
	local_cluster/down.sh

clean: ## Remove build/ (the demo project) and .venv
	rm -rf build $(VENV)
