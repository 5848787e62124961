"""Shared fixtures: the real sample landing zone and temporary warehouses (helpers: tests/support.py)."""

from __future__ import annotations

import os

# Every test sees the same partitions, whatever data/landing holds: 2025-01-01 (before any day the tests use)
# to tomorrow, growing with the clock as in live operation (flexpower_dagster/partition_range.py). Set before
# any definition is imported; tests/ui starts its own processes with the range the landing zone gives.
os.environ["FLEXPOWER_FIRST_DAY"] = "2025-01-01"
os.environ["FLEXPOWER_LAST_DAY"] = "tomorrow"

from pathlib import Path

import pytest

from flexpower_dagster.settings import Settings

from support import (
    CHROMIUM,
    SAMPLE_DAY,
    SAMPLE_DIR,
    SAMPLE_MONTH,
    Built,
    contracts_dependant_probe,
    demo_landing,
    fingerprint,
    materialize_day,
    materialize_month,
)

#: Fixtures that make a test a browser or a site test (pyproject.toml: markers; `make test-fast` skips them).
MARK_BY_FIXTURE = {"browser": "browser", "built_site": "site", "site_url": "site"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, mark in MARK_BY_FIXTURE.items():
            if fixture in item.fixturenames:
                item.add_marker(getattr(pytest.mark, mark))


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not SAMPLE_DIR.is_dir():
        pytest.fail(f"sample landing zone not found at {SAMPLE_DIR} (../shared must sit beside the project)")
    return SAMPLE_DIR


@pytest.fixture
def tmp_settings(tmp_path: Path):
    """Settings for a temporary landing zone and warehouse (landing dir is created empty)."""
    landing = tmp_path / "landing"
    landing.mkdir()
    return Settings(landing_dir=landing, warehouse=tmp_path / "warehouse.duckdb", data_dir=tmp_path / "data")


def _read_only(built: Built):
    """Yield ``built``; at the end of the session its warehouse file must be unchanged (tests write to copies)."""
    before = fingerprint(built.settings.warehouse)
    yield built
    assert fingerprint(built.settings.warehouse) == before, (
        f"a test wrote to the session warehouse {built.settings.warehouse}: copy it first (Built.copy)")


@pytest.fixture(scope="session")
def sample_day(tmp_path_factory, sample_dir) -> Built:
    """Every daily asset of the sample day 2025-06-08 materialised once per session (with the full definitions and
    ``contracts_dependant_probe``), and the run's result: every module reading the sample day shares it.

    Read-only for tests: ``sample_day.copy(tmp_path)`` before writing. (The run's blocking gates are not required to
    pass here: tests that say the day is green assert ``result.success`` themselves.)
    """
    root = tmp_path_factory.mktemp("sample_day")
    settings = Settings(landing_dir=sample_dir, warehouse=root / "warehouse.duckdb", data_dir=root / "data")
    result = materialize_day(settings, SAMPLE_DAY, raise_on_error=False, extra_assets=[contracts_dependant_probe()])
    yield from _read_only(Built(settings, result))


@pytest.fixture(scope="session")
def sample_warehouse(sample_day) -> Settings:
    """The settings of ``sample_day`` (its warehouse holds every daily mart of 2025-06-08). Read-only."""
    return sample_day.settings


@pytest.fixture(scope="session")
def sample_month(sample_day, tmp_path_factory) -> Built:
    """A copy of ``sample_day`` with every monthly asset of June 2025 materialised (the invoices, their documents
    in its data dir), once per session, and the month run's result. Read-only: ``sample_month.copy(tmp_path,
    data=True)`` before writing."""
    settings = sample_day.copy(tmp_path_factory.mktemp("sample_month"))
    result = materialize_month(settings, SAMPLE_MONTH, raise_on_error=False)
    yield from _read_only(Built(settings, result))


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Built:
    """The DEMO_CASE landing zone (tests/support.py) with its delivery day SAMPLE_DAY and then its month
    materialised, once per session; ``result`` is the month run's. Read-only."""
    root = tmp_path_factory.mktemp("demo_warehouse")
    settings = Settings(landing_dir=demo_landing(root / "landing"), warehouse=root / "w.duckdb", data_dir=root / "data")
    materialize_day(settings, SAMPLE_DAY, raise_on_error=False)
    result = materialize_month(settings, SAMPLE_MONTH, raise_on_error=False)
    yield from _read_only(Built(settings, result))


# module scope: the sync Playwright API runs an event loop in this thread until it is stopped; a session-wide
# browser would leave it running and break later tests that call asyncio.run() (Dagster's automation tests)
@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (the report site's and the Dagster UI's browser tests)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: run `make setup-browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
