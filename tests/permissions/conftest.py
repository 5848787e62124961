"""Fixtures of the permissions tests: the session's sample-day warehouse (tests/conftest.py) with its June invoices
and alerts, the internal audiences' snapshots of it, and a copy in which one customer holds two contracts."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from permissions_support import MARIA, SAMPLE_MONTH, SECOND_CONTRACT

from flexpower_dagster.defs.ops.assets import marts_alerts
from flexpower_dagster.defs.permissions.policy import load_policy
from flexpower_dagster.defs.permissions.snapshot import write_internal_snapshots
from flexpower_dagster.lib.dagster.resources import Alerting
from flexpower_dagster.lib.dbfile import open_reader
from flexpower_dagster.settings import Settings

from support import materialize_month, resources_for


@pytest.fixture(scope="session")
def policy():
    return load_policy()


@pytest.fixture(scope="session")
def permissions_warehouse(sample_warehouse, tmp_path_factory) -> Settings:
    """A copy of the sample-day warehouse plus the June invoices and the alerts (every table a batch writes)."""
    root = tmp_path_factory.mktemp("permissions_warehouse")
    wh = root / "warehouse.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    settings = Settings(landing_dir=sample_warehouse.landing_dir, warehouse=wh, data_dir=root / "data")
    materialize_month(settings, SAMPLE_MONTH, raise_on_error=False)
    resources = resources_for(settings.landing_dir, wh, settings.data_dir)
    resources["alerting"] = Alerting(now="2025-07-01T08:00:00")
    dg.materialize([marts_alerts], resources=resources)
    with duckdb.connect(str(wh), read_only=True) as conn:
        n = conn.execute("SELECT count(*) FROM marts.invoices").fetchone()[0]
    if n == 0:
        pytest.fail("materialising the sample month wrote no invoice")
    return settings


@pytest.fixture(scope="session")
def internal_snapshots(permissions_warehouse, policy, tmp_path_factory) -> dict[str, Path]:
    """Audience -> its snapshot file, written from ``permissions_warehouse`` as the asset writes them."""
    out = tmp_path_factory.mktemp("snapshots_data")
    with open_reader(permissions_warehouse.warehouse) as conn:
        snaps = write_internal_snapshots(conn, policy, out)
    return {s.audience: s.path for s in snaps}


@pytest.fixture(scope="session")
def shared_customer_warehouse(permissions_warehouse, tmp_path_factory) -> Path:
    """The sample with CON1_SOL-DE-002 handed to Maria Schmidt (e-mail in upper case, as CRMs do): one customer, two
    contracts (SOL-DE-001, SOL-DE-002); the other three contracts keep their own customers."""
    wh = tmp_path_factory.mktemp("shared_customer") / "warehouse.duckdb"
    shutil.copy(permissions_warehouse.warehouse, wh)
    with duckdb.connect(str(wh)) as conn:
        for table in ("marts.contracts_in_force", "marts.invoices", "staging.crm_contracts"):
            conn.execute(f"UPDATE {table} SET email = ? WHERE contract_id = ?", [MARIA.upper(), SECOND_CONTRACT])
    return wh
