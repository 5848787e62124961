# FlexPower data platform. `make run` and `make test` are all a new engineer needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
BYTECODE := $(VENV)/.bytecode
# uv installs the locked Python environment (uv.lock); it is bootstrapped with pip into .tools/ (gitignored)
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# a sensor tick may take this long before Dagster stops it (the stage limits: docs/operations.md)
export DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS ?= 180

.PHONY: setup setup-python setup-reports setup-browser setup-postgres postgres setup-nginx serve run dev cluster test test-fast record-broken-build lint lock reset benchmark benchmark-backfill benchmark-parallel benchmark-desk benchmark-startup screenshots sql

## setup: .venv exactly as uv.lock pins it (package editable); report site packages exactly as package-lock.json pins them
setup: setup-python setup-reports

setup-python: $(STAMP) $(BYTECODE)

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .tools/uv "uv==$(UV_VERSION)"

# --frozen: install what uv.lock says, never re-resolve (a lock that no longer matches pyproject.toml fails
# here instead of silently installing something untested); --extra test: pytest, playwright, ruff
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra test --python $(PYTHON) --quiet
	@touch $(STAMP)

# Bytecode of every installed module and of the package, compiled once at install: uv does not compile it, and where
# PYTHONDONTWRITEBYTECODE is set (containers, CI) Python never caches it, so every run worker, sensor and CLI process
# would compile ~4,000 modules from source again (about 2 s of CPU per process start; docs/benchmarks.md, "Run start-up").
# Python still checks each .pyc against its source: an edited module is compiled afresh, never stale.
$(BYTECODE): $(STAMP)
	$(PY) -m compileall -q -j 0 $(VENV)/lib/python3.11/site-packages flexpower_dagster > /dev/null
	@touch $(BYTECODE)

## lock: re-resolve uv.lock after changing pyproject.toml (`make lock ARGS=--upgrade` takes newer versions)
lock: | $(UV)
	$(UV) lock --python $(PYTHON) $(ARGS)

setup-reports:
	@if [ -f reports/package-lock.json ]; then $(MAKE) --no-print-directory reports/node_modules/.installed; fi

# npm install --no-save from the lock, then every installed version verified against the lock; never writes a
# tracked file, whatever the registry serves for other platforms (reports/scripts/install.sh, docs/reports.md)
reports/node_modules/.installed: reports/package-lock.json reports/package.json reports/scripts/install.sh \
		reports/scripts/verify-install.mjs reports/scripts/patch-evidence.mjs
	reports/scripts/install.sh
	@touch $@

## setup-browser: Debian's Chromium for the report site's browser test (never a downloaded browser)
setup-browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

## setup-postgres: Debian's PostgreSQL for the DuckLake catalog and Dagster's instance in `make cluster` and the
## backend tests (docs/scaling.md); never a downloaded build
setup-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; }

## postgres: the local Postgres under data/postgres (Unix socket only, generated password in data/postgres/password),
## with the DuckLake catalog and the Dagster databases; `make reset` stops and deletes it
postgres: setup-python setup-postgres
	$(PY) -m flexpower_dagster.lib.pgserver start --root data/postgres

## setup-nginx: Debian's nginx for `make serve` and its tests (never a downloaded server)
setup-nginx:
	@test -x /usr/sbin/nginx || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx; }

## serve: the audiences' sites (/<audience>/) and the customers' statements (/customers/<slug>/) on
## http://127.0.0.1:<FLEXPOWER_SERVE_PORT, default 8080>, behind basic auth; credentials in data/serve/credentials.toml
## (docs/permissions.md, "Serving with authentication"); run again to reload after new statements
serve: setup-python setup-nginx
	$(PY) -m flexpower_dagster.defs.permissions.serve $(if $(PORT),--port $(PORT))

## run: demo landing zone (if empty), every delivery day, the monthly invoices and the report site
run: setup
	@mkdir -p $(DAGSTER_HOME)
	$(PY) -m flexpower_dagster.run_all

## dev: Dagster UI + daemon on http://127.0.0.1:3000 (sensors and automation run)
dev: setup
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml  # always: the run queue limit must reach the instance
	@$(PY) -m flexpower_dagster.defs.ops.runs  # a run killed earlier must not block the queue
	@$(PY) -m flexpower_dagster.lib.dagster.lanes  # the pools' limits, before the daemon's first queue pass
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## cluster: the platform on Postgres + DuckLake with parallel runs (docs/scaling.md, "Cluster profile"): starts the
## local Postgres (data/postgres), writes data/warehouse/flexpower.ducklake.toml (catalog in Postgres, Parquet under
## data/lake) and Dagster's instance data/dagster_cluster/dagster.yaml (storage in Postgres, several runs at once, one
## per partition), then the UI and daemon on http://127.0.0.1:3000. `make run` / `make dev` stay on the DuckDB file.
cluster: setup setup-postgres
	@env_lines="$$($(PY) -m flexpower_dagster.cluster prepare)" && eval "$$env_lines" && \
	  export DAGSTER_GRPC_TIMEOUT_SECONDS=$${DAGSTER_GRPC_TIMEOUT_SECONDS:-180} && \
	  echo "cluster: DAGSTER_HOME=$$DAGSTER_HOME FLEXPOWER_WAREHOUSE=$$FLEXPOWER_WAREHOUSE" && \
	  $(PY) -m flexpower_dagster.defs.ops.runs && \
	  exec $(BIN)/dagster dev -h 127.0.0.1 -p $(or $(PORT),3000) -w workspace.yaml

## test: install and run the whole test suite
test: setup setup-browser setup-postgres setup-nginx
	$(BIN)/pytest -q

## test-fast: the edit-test loop (< 2 min): no browser, no site build or npm, no end-to-end, no extra day/month runs
test-fast: setup-python
	$(BIN)/pytest -q -m "not slow and not site and not browser and not e2e"

## record-broken-build: record Evidence's build of the broken test page again (tests/reporting/broken_build/;
## after an Evidence upgrade or a change of the test page)
record-broken-build: setup
	FLEXPOWER_RECORD_BROKEN_BUILD=1 $(BIN)/pytest -q tests/reporting/test_report_site.py -k broken_build

## lint: ruff (configuration in pyproject.toml)
lint: setup-python
	$(BIN)/ruff check flexpower_dagster tests scripts

## screenshots: refresh docs/screenshots/ (README) from the browser tests of the report site and the Dagster UI
## (they write build/screenshots/ otherwise)
screenshots: setup setup-browser
	FLEXPOWER_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/reporting tests/ui/test_dagster_ui.py

## benchmark: the project against the floor on 5 / 200 / 1,000-asset demo zones (day, site, incremental, sensors)
## -> docs/benchmarks.md and build/benchmark/results.json; < 60 min on 2 cores; not in CI. `make benchmark ARGS=--quick`
benchmark: setup
	$(PY) scripts/benchmark.py $(ARGS)

## benchmark-backfill: the 30-day backfill of 1,000 assets vs the floor (opt-in: ~35 GB of demo files, hours today)
benchmark-backfill: setup
	$(PY) scripts/benchmark.py --only backfill --backfill-days 30 --backfill-assets 1000 --budget-minutes 0 $(ARGS)

## benchmark-parallel: a backfill of the 1,000-asset demo, 10 days, one run at a time on the DuckDB file vs 2 parallel
## worker processes on DuckLake in a private Postgres (installed when missing, else skipped): wall, CPU, peak memory;
## the marts' checksums of both must be identical (else exit 1) -> docs/scaling.md and build/benchmark/parallel.json;
## ~1-1.5 h on an idle 2-core machine; not in CI. `make benchmark-parallel ARGS="--assets 5 --days 3"`: a few minutes
benchmark-parallel: setup
	$(PY) scripts/benchmark_parallel.py $(ARGS)

## benchmark-desk: file landing -> marts.position_qh -> desk data file under `dagster dev`, per file kind (median, worst,
## where the time goes) -> docs/benchmarks.md and build/benchmark/desk.json; 30-45 min on 2 cores; not in CI
benchmark-desk: setup
	$(PY) scripts/benchmark_desk.py $(ARGS)

## benchmark-startup: a staging run's start-up (process start -> first step) and the code location's import, on the
## sample day (issue 27 point 3; ~2 min); not in CI
benchmark-startup: setup-python
	$(PY) scripts/benchmark_startup.py $(ARGS)

## sql: query the read-only warehouse snapshot (never the live file): make sql, or make sql Q="SELECT ..."; an
## audience's scoped snapshot: make sql AUDIENCE=trading (docs/permissions.md)
sql: setup-python
	$(PY) -m flexpower_dagster.sqlshell $(if $(AUDIENCE),--audience "$(AUDIENCE)") "$(Q)"

## reset: delete the generated warehouse, Dagster history and demo landing zone (data/serve, the served users'
## credentials, is kept: `make serve` goes on accepting the passwords handed out)
reset:
	@if [ -d data/postgres ]; then $(PY) -m flexpower_dagster.lib.pgserver remove --root data/postgres; fi
	rm -rf data/warehouse data/lake data/postgres data/dagster_cluster data/dagster_home data/landing data/invoices data/outbox data/statements data/gx
