"""A small generated landing zone shared by the demo tests (sample assets + synthetic ones)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flexpower_dagster.demo import generate

from demo_case import ASSETS, DAYS, SEED, START


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "landing"
    generate(out, n_assets=ASSETS, start=START, days=DAYS, seed=SEED, public_trades_per_day=3000)
    return out


@pytest.fixture(scope="session")
def default_assets_dir(tmp_path_factory) -> Path:
    """The default five assets and seed around the sample day (for comparisons with the sample)."""
    out = tmp_path_factory.mktemp("demo5") / "landing"
    generate(out, start=date(2025, 6, 7), days=3, public_trades_per_day=2000)
    return out
