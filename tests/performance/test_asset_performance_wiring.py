"""marts.asset_performance as a Dagster asset on the real sample day (a copy of the session's sample warehouse),
checked against independent SQL over the other marts: the per-asset figures add up to the portfolio's."""

import shutil

import dagster as dg
import duckdb
import pytest

from flexpower_dagster.defs.performance.assets import marts_asset_performance
from flexpower_dagster.lib.dagster.partitions import daily_partitions

from support import SAMPLE_DAY, resources_for


@pytest.fixture(scope="module")
def warehouse(sample_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("performance")
    wh = root / "warehouse.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    with duckdb.connect(str(wh)) as conn:  # the asset itself must write the table, not the session run
        conn.execute("DROP TABLE IF EXISTS marts.asset_performance")
    # the upstream marts are already in the warehouse: the SQL mart reads them there
    upstream = [dg.AssetSpec(k, partitions_def=daily_partitions) for k in marts_asset_performance.dependency_keys]
    for _ in range(2):  # a re-run replaces the partition
        result = dg.materialize(
            [marts_asset_performance, *upstream], partition_key=SAMPLE_DAY,
            resources=resources_for(sample_warehouse.landing_dir, wh),
        )
        assert result.success
    md = result.asset_materializations_for_node("marts__asset_performance")[0].metadata
    return wh, md


def one(conn, sql):
    return conn.execute(sql, [SAMPLE_DAY]).fetchone()


def test_one_row_per_portfolio_asset(warehouse):
    wh, md = warehouse
    with duckdb.connect(str(wh), read_only=True) as conn:
        n, assets = one(conn, "SELECT count(*), count(DISTINCT asset_id) FROM marts.asset_performance WHERE delivery_day = ?")
        portfolio = one(conn, "SELECT count(DISTINCT asset_id) FROM marts.best_of_infeed WHERE delivery_day = ?")[0]
    assert n == assets == portfolio == 5
    assert md["assets (count)"].value == 5


def test_per_asset_figures_add_up_to_the_portfolio(warehouse):
    wh, _ = warehouse
    with duckdb.connect(str(wh), read_only=True) as conn:
        perf = one(conn, """SELECT sum(bestof_mwh), sum(trading_revenue_eur), sum(imbalance_cost_eur),
                                   sum(imbalance_mwh), sum(long_mwh) - sum(short_mwh)
                            FROM marts.asset_performance WHERE delivery_day = ?""")
        bestof = one(conn, "SELECT sum(mwh) FROM marts.portfolio_best_of_infeed WHERE delivery_day = ?")[0]
        revenue = one(conn, "SELECT revenue_eur FROM marts.trading_daily WHERE delivery_day = ?")[0]
        # QHs the desk traded although the portfolio's tradeable forecast was 0: revenue not attributable to an asset
        unallocated = one(conn, """
            SELECT sum(revenue_eur) FROM marts.trading_qh t WHERE delivery_day = ? AND NOT EXISTS (
                SELECT 1 FROM marts.asset_forecast f WHERE f.delivery_day = t.delivery_day
                AND f.delivery_start = t.delivery_start AND f.tradeable_mwh > 0)""")[0]
        cost, imb = one(conn, "SELECT sum(cost_eur), sum(imbalance_mwh) FROM marts.imbalance WHERE delivery_day = ?")
        # market value recomputed from the QH marts
        value = dict(conn.execute("""
            SELECT b.asset_id, sum(b.mwh * t.market_vwap_eur_per_mwh) FROM marts.best_of_infeed b
            JOIN marts.trading_qh t USING (delivery_day, delivery_start) WHERE b.delivery_day = ? GROUP BY 1""",
            [SAMPLE_DAY]).fetchall())
        stored = dict(conn.execute(
            "SELECT asset_id, market_value_eur FROM marts.asset_performance WHERE delivery_day = ?", [SAMPLE_DAY]).fetchall())
    assert perf[0] == pytest.approx(bestof)
    assert unallocated > 0  # the sample day has six such QHs (11:00-12:15 and 16:00 UTC)
    assert perf[1] + unallocated == pytest.approx(revenue, abs=1e-6)
    assert perf[2] == pytest.approx(cost) and perf[3] == pytest.approx(imb) and perf[4] == pytest.approx(imb)
    assert stored == pytest.approx(value)


def test_the_blocked_contract_has_a_caveat_not_a_silent_margin(warehouse):
    wh, md = warehouse
    with duckdb.connect(str(wh), read_only=True) as conn:
        rows = conn.execute(
            "SELECT asset_id, margin_eur, margin_known_eur, margin_complete, margin_caveat, payout_eur_est "
            "FROM marts.asset_performance WHERE delivery_day = ? ORDER BY asset_id", [SAMPLE_DAY]).fetchall()
    by_asset = {r[0]: r for r in rows}
    _, margin, known, complete, caveat, payout = by_asset["WND-DE-003"]
    assert margin is None and payout is None and complete is False and known is not None
    assert "invoice blocked" in caveat and "price_model 'fixed' without price" in caveat
    for asset in ("SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002"):
        assert by_asset[asset][3] is True and by_asset[asset][1] == pytest.approx(by_asset[asset][2])
    assert md["assets with incomplete margin (count)"].value == 1
    assert "WND-DE-003" in md["margin_caveats"].value
