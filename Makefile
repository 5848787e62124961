# FlexPower data platform. `make run` and `make test` are all a new engineer needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: setup setup-python setup-reports setup-browser run dev test lint reset benchmark

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

# npm ci from the lockfile; its postinstall runs reports/scripts/patch-evidence.mjs (offline patches) and
# --check proves they applied. The registry reachable here lacks other platforms' optional binaries
# (@rollup/rollup-darwin-*, ...), which makes `npm ci` refuse the lock ("Missing: ... from lock file"); then
# `npm install` installs the same locked tree and the lock must come out byte-identical (docs/reports.md).
reports/node_modules/.installed: reports/package-lock.json reports/package.json reports/scripts/patch-evidence.mjs
	cd reports && sum=$$(sha256sum package-lock.json) && \
	  { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || \
	    { echo "npm ci refused the lock (registry without other platforms' optional packages): npm install from it"; \
	      npm install --no-audit --no-fund --loglevel=error; }; } && \
	  { echo "$$sum" | sha256sum --check --quiet - || { echo "reports/package-lock.json changed: pin it again"; exit 1; }; }
	cd reports && node scripts/patch-evidence.mjs --check
	@touch $@

## setup-browser: Debian's Chromium for the report site's browser test (never a downloaded browser)
setup-browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

## run: demo landing zone (if empty), every delivery day, the monthly invoices and the report site
run: setup
	@mkdir -p $(DAGSTER_HOME)
	$(PY) -m flexpower_dagster.run_all

## dev: Dagster UI + daemon on http://127.0.0.1:3000 (sensors and automation run)
dev: setup
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml  # always: the run queue limit must reach the instance
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## test: install and run the whole test suite
test: setup setup-browser
	$(BIN)/pytest -q

## reset: delete the generated warehouse, Dagster history and demo landing zone
reset:
	rm -rf data/warehouse data/dagster_home data/landing data/invoices data/outbox data/gx
