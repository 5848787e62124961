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

from support import CHROMIUM, SAMPLE_DAY, SAMPLE_DIR, materialize_day


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


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, sample_dir) -> Settings:
    """A warehouse with every daily asset of the sample day 2025-06-08 materialised once per session.

    Read-only for tests: copy it (``shutil.copy``) before writing to it. (The blocking contract check
    fails on the sample's WND-DE-003 by design, so the run is not required to succeed.)
    """
    root = tmp_path_factory.mktemp("sample_warehouse")
    settings = Settings(landing_dir=sample_dir, warehouse=root / "warehouse.duckdb", data_dir=root / "data")
    materialize_day(settings, SAMPLE_DAY, raise_on_error=False)
    return settings


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
