"""KPI targets of the report site (flexpower_dagster/defs/reporting/targets.py, kpi_targets.toml): pure, no site."""

from __future__ import annotations

import tomllib

import duckdb
import pytest

from flexpower_dagster.defs.reporting.site import snapshot_warehouse
from flexpower_dagster.defs.reporting.targets import KPIS, TARGETS_FILE, Target, load_targets, parse_targets
from flexpower_dagster.lib.errors import SourceFileError

import fake_warehouse


def test_the_configured_targets_load_and_read_in_german():
    targets = load_targets()
    raw = tomllib.loads(TARGETS_FILE.read_text())
    assert set(targets) == set(raw) and set(targets) <= set(KPIS)
    mae = targets["tradeable_mae_pct_capacity"]
    assert (mae.bound, mae.value) == ("at_most", raw["tradeable_mae_pct_capacity"]["at_most"])
    assert mae.source  # who set it is part of the target
    assert Target("tradeable_mae_pct_capacity", "at_most", 3.5, "x").text == "≤ 3,5 % of capacity"
    assert Target("tradeable_mae_pct_capacity", "at_least", 1234.25, "x").text == "≥ 1.234,2 % of capacity"


@pytest.mark.parametrize(("value", "met"), [(3.4, True), (3.5, True), (3.51, False), (None, None), (float("nan"), None)])
def test_met_is_a_bound_not_a_guess(value, met):
    assert Target("tradeable_mae_pct_capacity", "at_most", 3.5, "x").met(value) is met
    if met is not None and value != 3.5:
        assert Target("tradeable_mae_pct_capacity", "at_least", 3.5, "x").met(value) is (not met)


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        ({"no_such_kpi": {"at_most": 1, "source": "s"}}, "target-unknown-kpi"),
        ({"tradeable_mae_pct_capacity": 3.5}, "target-not-a-table"),
        ({"tradeable_mae_pct_capacity": {"at_most": 1, "source": "s", "colour": "red"}}, "target-unknown-field"),
        ({"tradeable_mae_pct_capacity": {"source": "s"}}, "target-one-bound"),
        ({"tradeable_mae_pct_capacity": {"at_most": 1, "at_least": 0, "source": "s"}}, "target-one-bound"),
        ({"tradeable_mae_pct_capacity": {"at_most": "3,5", "source": "s"}}, "target-not-a-number"),
        ({"tradeable_mae_pct_capacity": {"at_most": True, "source": "s"}}, "target-not-a-number"),
        ({"tradeable_mae_pct_capacity": {"at_most": float("inf"), "source": "s"}}, "target-not-a-number"),
        ({"tradeable_mae_pct_capacity": {"at_most": 101, "source": "s"}}, "target-out-of-range"),
        ({"tradeable_mae_pct_capacity": {"at_most": 3.5}}, "target-without-source"),
        ({"tradeable_mae_pct_capacity": {"at_most": 3.5, "source": "  "}}, "target-without-source"),
    ],
)
def test_a_bad_target_names_file_entry_and_rule(data, rule):
    with pytest.raises(SourceFileError) as err:
        parse_targets(data, "kpi_targets.toml")
    assert err.value.rule == rule and str(err.value).startswith("kpi_targets.toml: ")
    assert "[" in err.value.detail  # the entry: [tradeable_mae_pct_capacity] / [no_such_kpi]


def test_a_broken_file_is_named(tmp_path):
    bad = tmp_path / "kpi_targets.toml"
    bad.write_text("[tradeable_mae_pct_capacity\nat_most = 3.5\n")
    with pytest.raises(SourceFileError) as err:
        load_targets(bad)
    assert err.value.rule == "target-file-syntax" and str(bad) in str(err.value)


def test_the_snapshot_holds_the_targets_and_no_row_without_one(tmp_path):
    fake = fake_warehouse.build(tmp_path / "fake.duckdb")
    snap = snapshot_warehouse(fake, tmp_path / "snap.duckdb")
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        rows = conn.execute("SELECT kpi, bound, target, target_text, source FROM report.kpi_targets "
                            "WHERE NOT is_placeholder").fetchall()
    t = load_targets()["tradeable_mae_pct_capacity"]
    assert rows == [("tradeable_mae_pct_capacity", "at_most", t.value, t.text, t.source)]
    # no target configured: no row (the pages then say nothing), only Evidence's placeholder
    snap = snapshot_warehouse(fake, tmp_path / "none.duckdb", targets={})
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FILTER (WHERE NOT is_placeholder), count(*) FROM report.kpi_targets").fetchone() == (0, 1)


def test_portfolio_forecast_accuracy_is_weighted_by_quarter_hours_and_capacity(tmp_path):
    """report.portfolio_day / portfolio_mtd: the assets' absolute errors over what they produce at full capacity in
    their measured QHs (hand-computed); an asset without a capacity is left out of both sums."""
    from flexpower_dagster.defs.reporting.sql import VIEWS

    snap = snapshot_warehouse(fake_warehouse.build(tmp_path / "fake.duckdb"), tmp_path / "snap.duckdb").path
    with duckdb.connect(str(snap)) as conn:
        conn.execute(
            "CREATE OR REPLACE TABLE report.asset_day AS SELECT * FROM (VALUES "
            "(DATE '2025-06-08', 'A', 2.0, 96, 0.8), (DATE '2025-06-08', 'B', 10.0, 48, 3.0), "
            "(DATE '2025-06-08', 'C', NULL, 96, 5.0), (DATE '2025-06-09', 'A', 2.0, 96, 1.2)) "
            "t(delivery_day, asset_id, capacity_mw, tradeable_n_qh, tradeable_abs_error_mwh)"
        )
        for col, typ in (("payout_eur_est", "DOUBLE"), ("fee_eur_est", "DOUBLE"), ("trading_revenue_eur", "DOUBLE"),
                         ("imbalance_cost_eur", "DOUBLE"), ("margin_known_eur", "DOUBLE"), ("market_value_eur", "DOUBLE"),
                         ("market_priced_mwh", "DOUBLE"), ("payout_fee_caveat", "VARCHAR"), ("margin_complete", "BOOLEAN"),
                         ("margin_caveat", "VARCHAR")):
            conn.execute(f"ALTER TABLE report.asset_day ADD COLUMN {col} {typ}")
        conn.execute(f"CREATE OR REPLACE TABLE report.portfolio_day AS {VIEWS['portfolio_day']}")
        day = dict(conn.execute("SELECT day_key, tradeable_mae_pct_capacity FROM report.portfolio_day").fetchall())
        mtd = dict(conn.execute(f"SELECT day_key, tradeable_mae_pct_capacity FROM ({VIEWS['portfolio_mtd']})").fetchall())
    # 06-08: (0.8 + 3.0) / (96 x 2 x 0.25 + 48 x 10 x 0.25) = 3.8 / 168 (C has no capacity); 06-09: 1.2 / 48
    assert day["2025-06-07"] is None and mtd["2025-06-07"] is None  # no asset figures: no accuracy, not 0
    assert day["2025-06-08"] == pytest.approx(100 * 3.8 / 168) and day["2025-06-09"] == pytest.approx(100 * 1.2 / 48)
    assert mtd["2025-06-08"] == pytest.approx(100 * 3.8 / 168) and mtd["2025-06-09"] == pytest.approx(100 * 5.0 / 216)
