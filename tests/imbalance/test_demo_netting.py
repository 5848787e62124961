"""The demo shows a netting benefit (issue 26.6): a demo day with scarcity quarter-hours (final short price
above the long price) is built through the platform, and the portfolio's netting benefit is positive and equal,
QH by QH, to an independent calculation from the asset imbalances and the staged final prices."""

from __future__ import annotations

import duckdb
import pytest

from flexpower_dagster.demo import generate
from flexpower_dagster.demo.generate import DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START
from flexpower_dagster.demo.imbalance import scarcity_surcharge
from flexpower_dagster.demo.timegrid import Window
from flexpower_dagster.settings import Settings


def _scarcity_day():
    """The day of the default demo month (``make run``) with the most scarcity QHs (final prices published)."""
    days = Window(DEFAULT_START, DEFAULT_DAYS).delivery_days[:-1]
    return max(days, key=lambda d: int((scarcity_surcharge(DEFAULT_SEED, d) > 0).sum()))


def _build_imbalance(settings: Settings, day: str):
    """Materialise marts/portfolio_imbalance and everything upstream of it for ``day``."""
    import dagster as dg

    from flexpower_dagster.definitions import build_definitions

    defs = build_definitions(settings)
    selection = dg.AssetSelection.assets(dg.AssetKey(["marts", "portfolio_imbalance"])).upstream()
    keys = sorted(selection.resolve(defs.resolve_asset_graph()), key=lambda k: k.to_user_string())
    with dg.instance_for_test() as instance:
        return defs.resolve_implicit_global_asset_job_def().execute_in_process(
            partition_key=day, asset_selection=keys, instance=instance, raise_on_error=False)


@pytest.fixture(scope="module")
def built_day(tmp_path_factory):
    day = _scarcity_day()
    tmp = tmp_path_factory.mktemp("demo_netting")
    landing = tmp / "landing"
    generate(landing, start=day, days=2, seed=DEFAULT_SEED, public_trades_per_day=2000)  # finals for `day`
    settings = Settings(landing_dir=landing, warehouse=tmp / "w.duckdb", data_dir=tmp / "data")
    _build_imbalance(settings, day.isoformat())
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        yield day, conn


def test_a_demo_day_with_scarcity_has_a_positive_netting_benefit(built_day):
    day, conn = built_day
    benefit, n_asym = conn.execute(
        """SELECT sum(p.netting_benefit_eur),
                  count(*) FILTER (WHERE f.price_short_eur_per_mwh <> f.price_long_eur_per_mwh)
           FROM marts.portfolio_imbalance p
           LEFT JOIN staging.imbalance_price_final f USING (delivery_start)
           WHERE p.delivery_day = ?""", [day]).fetchone()
    assert n_asym > 0, "no final QH of the scarcity day has different short and long prices"
    assert benefit is not None and benefit > 0, f"netting benefit of the demo day {day}: {benefit}"


def test_the_netting_benefit_is_min_of_short_and_long_volume_times_the_price_gap(built_day):
    """Netted, only the smaller of the short and the long volume changes price: benefit = min(S, L) x (short - long)
    in a QH priced final; 0 in every other QH (estimate-priced or symmetric)."""
    day, conn = built_day
    rows = conn.execute(
        """WITH a AS (
               SELECT delivery_start,
                      -sum(imbalance_mwh) FILTER (WHERE imbalance_mwh < 0) AS short_mwh,
                      sum(imbalance_mwh) FILTER (WHERE imbalance_mwh > 0) AS long_mwh
               FROM marts.imbalance WHERE delivery_day = ? GROUP BY 1),
           f AS (SELECT delivery_start, arg_max(price_short_eur_per_mwh - price_long_eur_per_mwh, published_at) AS gap
                 FROM staging.imbalance_price_final GROUP BY 1)
           SELECT p.delivery_start, p.netting_benefit_eur,
                  CASE WHEN p.price_source = 'final'
                       THEN least(coalesce(a.short_mwh, 0), coalesce(a.long_mwh, 0)) * f.gap ELSE 0 END AS expected
           FROM marts.portfolio_imbalance p JOIN a USING (delivery_start) LEFT JOIN f USING (delivery_start)
           WHERE p.delivery_day = ? AND p.netting_benefit_eur IS NOT NULL
           ORDER BY 1""", [day, day]).fetchall()
    assert len(rows) > 80
    off = [(t, got, want) for t, got, want in rows if abs(got - want) > 1e-6]
    assert not off, off[:5]
    assert sum(1 for _, got, _ in rows if got > 0) >= 1
