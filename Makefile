# FlexPower data platform. `make run` and `make test` are all a new engineer needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: setup setup-python setup-reports run dev test lint reset benchmark

## setup: create .venv with the pinned dependencies and the package (editable); npm ci for reports/
setup: setup-python setup-reports

setup-python: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

setup-reports:
	@if [ -f reports/package-lock.json ]; then $(MAKE) --no-print-directory reports/node_modules/.installed; fi

reports/node_modules/.installed: reports/package-lock.json
	cd reports && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## run: demo landing zone (if empty), every delivery day, the monthly invoices and the report site
run: setup
	@mkdir -p $(DAGSTER_HOME)
	$(PY) -m flexpower_dagster.run_all

## dev: Dagster UI + daemon on http://127.0.0.1:3000 (sensors and automation run)
dev: setup
	@mkdir -p $(DAGSTER_HOME)
	@cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## test: install and run the whole test suite
test: setup
	$(BIN)/pytest -q

## reset: delete the generated warehouse, Dagster history and demo landing zone
reset:
	rm -rf data/warehouse data/dagster_home data/landing data/invoices data/outbox data/gx
