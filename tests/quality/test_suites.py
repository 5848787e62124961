"""Every suite: a hand-made passing frame, then one violation per expectation, asserting which failed."""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.crm.expectations import CONTRACTS_IN_FORCE_SUITE, CRM_CONTRACTS_SUITE
from flexpower_dagster.defs.dso.expectations import DSO_FINAL_PRODUCTION_SUITE
from flexpower_dagster.defs.exchange.expectations import EXCHANGE_PRIVATE_TRADES_SUITE
from flexpower_dagster.defs.imbalance.expectations import IMBALANCE_SUITE
from flexpower_dagster.defs.imbalance_prices.expectations import IMBALANCE_PRICE_FINAL_SUITE
from flexpower_dagster.defs.infeed.expectations import BEST_OF_INFEED_SUITE
from flexpower_dagster.defs.invoicing.expectations import INVOICES_SUITE
from flexpower_dagster.defs.performance.expectations import ASSET_PERFORMANCE_SUITE
from flexpower_dagster.defs.vpp.expectations import VPP_FORECASTS_SUITE, VPP_LIVE_SAMPLES_SUITE
from flexpower_dagster.lib.quality.suites import run_suite
from flexpower_dagster.lib.quality.views import Refs

from support import all_suites

DAY = date(2025, 6, 8)
D = pd.Timestamp(DAY)
QHS = pd.date_range(D, periods=96, freq="15min")


def contracts_frame(**overrides) -> pd.DataFrame:
    rows = [
        {"contract_id": "C-SOL", "asset_id": "SOL-1", "metering_point_id": "MP-SOL-1", "capacity_mw": 2.0, "technology": "solar",
             "contract_begin": "2025-01-01", "contract_end": None, "price_model": "fixed", "price_eur_per_mwh": 80.0,
             "fee_model": "fixed_as_produced", "fee_eur": 2.5, "fee_percent": None, "email": "a@b.de"},
        {"contract_id": "C-WND", "asset_id": "WND-1", "metering_point_id": "MP-WND-1", "capacity_mw": 4.0, "technology": "wind",
             "contract_begin": "2025-01-01", "contract_end": "2026-01-01", "price_model": "market", "price_eur_per_mwh": None,
             "fee_model": "percent_of_market", "fee_eur": None, "fee_percent": 5.0, "email": "c@d.de"},
    ]
    f = pd.DataFrame(rows)
    f["delivery_day"] = D
    f["snapshot_created_at"] = D - pd.Timedelta(hours=20)
    f["source_file"] = "crm/asset_contracts_20250608_043831.csv"
    for k, v in overrides.items():
        f[k] = v
    return CRM_CONTRACTS_SUITE.table.conform(f)


CONTRACTS = contracts_frame()
REFS = Refs(day=DAY, tables={"contracts": CONTRACTS})


def inputs(*specs, **frames) -> Refs:
    """REFS plus the input tables a mart's completeness rules read (lib/quality/completeness.py), by qualified
    name: ``frames`` as given, ``specs`` with one (otherwise empty) row of the day."""
    tables = {spec.qualified_name: pd.DataFrame({c: [None] for c in spec.column_names}).assign(delivery_day=D)
              for spec in specs}
    return Refs(day=DAY, tables={**REFS.tables, **tables, **{k.replace("__", "."): v for k, v in frames.items()}})


def failed(suite, frame, refs=REFS) -> set[str]:
    return set(run_suite(suite, frame, refs).failed_ids)


def with_row(frame: pd.DataFrame, i: int, **values) -> pd.DataFrame:
    out = frame.copy()
    for k, v in values.items():
        out[k] = out[k].astype("object") if out[k].dtype.kind in "bO" or isinstance(v, str) else out[k]
        out.loc[i, k] = v
    return out


# ---------------------------------------------------------------------------------------------
# declarations


def test_every_suite_is_well_formed():
    suites = all_suites()
    assert {s.asset[0] for s in suites} == {"staging", "marts"}
    for s in suites:
        assert s.checks, s.name
        assert "structure" in s.checks and s.checks["structure"] == "blocking"
        assert all(e.description for e in s.expectations)


# ---------------------------------------------------------------------------------------------
# staging.crm_contracts


def test_crm_contracts_passes_and_each_violation_is_named():
    assert failed(CRM_CONTRACTS_SUITE, CONTRACTS) == set()
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 0, price_eur_per_mwh=None)) == {"fixed-price-has-price"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 0, fee_eur=None)) == {"fixed-as-produced-has-fee"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, fee_percent=None)) == {"percent-of-market-has-fee-percent"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, contract_end=pd.Timestamp("2024-12-01"))) == {"begin-before-end"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, technology="hydro")) == {"technology-in-set"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, price_model="spot")) == {"price_model-in-set"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, fee_model="flat")) == {"fee_model-in-set"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, email="nope")) == {"email-format"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, capacity_mw=0.0)) == {"capacity_mw-range"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, contract_id="C-SOL")) == {"unique-key"}
    assert failed(CRM_CONTRACTS_SUITE, with_row(CONTRACTS, 1, asset_id=None)) == {"not-null-asset_id"}
    assert failed(CRM_CONTRACTS_SUITE, CONTRACTS.assign(source_file=1)) == {"column-types"}
    assert "columns" in failed(CRM_CONTRACTS_SUITE, CONTRACTS.drop(columns=["email"]))
    assert failed(CRM_CONTRACTS_SUITE, CONTRACTS.assign(snapshot_created_at=D - pd.Timedelta(days=20))) == {"snapshot-age"}
    assert failed(CRM_CONTRACTS_SUITE, CONTRACTS.iloc[0:0]) == {"has-contracts"}


def test_contract_consistency_names_the_contract_and_both_problems():
    cif = CONTRACTS.drop(columns=["snapshot_created_at"]).assign(valid=[False, True], problems=["price missing; fee missing", None])
    cif = CONTRACTS_IN_FORCE_SUITE.table.conform(cif)
    bad = with_row(with_row(cif, 0, price_eur_per_mwh=None), 0, fee_eur=None)
    result = run_suite(CONTRACTS_IN_FORCE_SUITE, bad, REFS)
    outcome = result.checks()["contract_consistency"]
    assert CONTRACTS_IN_FORCE_SUITE.checks["contract_consistency"] == "warn"  # per contract: isolated by invoicing, never a red run
    assert not outcome.passed
    assert set(result.failed_ids) == {"fixed-price-has-price", "fixed-as-produced-has-fee", "valid"}
    assert outcome.entity_problems() == {
        "C-SOL": ["price_model 'fixed' has a price", "fee_model 'fixed_as_produced' has fee",
                  "the mart's own rules find no problem (valid = true)"]
    }
    assert result.checks()["structure"].passed
    good = cif.assign(valid=True, problems=None)
    assert failed(CONTRACTS_IN_FORCE_SUITE, good) == set()
    assert failed(CONTRACTS_IN_FORCE_SUITE, with_row(good, 1, asset_id="SOL-1")) == {"asset-unique"}
    assert failed(CONTRACTS_IN_FORCE_SUITE, with_row(good, 1, contract_begin=pd.Timestamp("2025-07-01"))) == {"begun"}


# ---------------------------------------------------------------------------------------------
# staging.dso_final_production (per asset: quarantine + completeness are WARN)


def final_production() -> pd.DataFrame:
    parts = []
    for asset, mp, mw in (("SOL-1", "MP-SOL-1", 1.0), ("WND-1", "MP-WND-1", 3.0)):
        parts.append(pd.DataFrame({"delivery_day": D, "metering_point_id": mp, "asset_id": asset, "delivery_start": QHS,
                                   "delivery_end": QHS + pd.Timedelta(minutes=15), "mw": mw, "mwh": mw * 0.25,
                                   "source_file": f"distribution_system_operator/final_production_{mp}_20250609.csv"}))
    return DSO_FINAL_PRODUCTION_SUITE.table.conform(pd.concat(parts, ignore_index=True))


def test_final_production_suite():
    f = final_production()
    assert failed(DSO_FINAL_PRODUCTION_SUITE, f) == set()
    r = run_suite(DSO_FINAL_PRODUCTION_SUITE, with_row(f, 100, mw=4.5), REFS)  # WND-1: 4.5 > 1.1 x 4.0
    assert r.failed_ids == ["mw-le-capacity"]
    assert r["mw-le-capacity"].failing_entities == ["WND-1"] and r["mw-le-capacity"].severity == "warn"
    assert failed(DSO_FINAL_PRODUCTION_SUITE, with_row(f, 3, mw=-0.1)) == {"mw-ge-0"}
    assert failed(DSO_FINAL_PRODUCTION_SUITE, with_row(f, 3, asset_id="SOL-X")) >= {"asset-known"}
    assert failed(DSO_FINAL_PRODUCTION_SUITE, with_row(f, 3, metering_point_id="MP-WND-1")) >= {"metering-point-matches"}
    r = run_suite(DSO_FINAL_PRODUCTION_SUITE, f.iloc[:150], REFS)  # WND-1 misses 42 QHs
    assert r.failed_ids == ["qh-per-asset"] and r["qh-per-asset"].failing_entities == ["WND-1"]
    r = run_suite(DSO_FINAL_PRODUCTION_SUITE, f.iloc[:96], REFS)  # WND-1 has no file at all
    assert r["qh-per-asset"].failing_entities == ["WND-1"]
    assert failed(DSO_FINAL_PRODUCTION_SUITE, pd.concat([f, f.iloc[:1]], ignore_index=True)) == {"unique-key"}
    assert failed(DSO_FINAL_PRODUCTION_SUITE, with_row(f, 0, delivery_start=None)) >= {"not-null-delivery_start"}


# ---------------------------------------------------------------------------------------------
# staging.vpp_live_samples


def test_live_samples_suite():
    ts = pd.date_range(D, periods=96 * 3, freq="5min")
    f = VPP_LIVE_SAMPLES_SUITE.table.conform(pd.DataFrame(
        {"delivery_day": D, "asset_id": "WND-1", "timestamp": ts, "mw": 2.0, "quality": 1.0, "source_file": "vpp/x.json"}))
    assert failed(VPP_LIVE_SAMPLES_SUITE, f) == set()
    assert failed(VPP_LIVE_SAMPLES_SUITE, with_row(f, 5, mw=-0.1)) == set()  # small negative allowed (-5 % of 4 MW)
    assert failed(VPP_LIVE_SAMPLES_SUITE, with_row(f, 5, mw=-0.5)) == {"mw-ge-min"}
    assert failed(VPP_LIVE_SAMPLES_SUITE, with_row(f, 5, mw=9.0)) == {"mw-le-capacity"}
    assert failed(VPP_LIVE_SAMPLES_SUITE, f.iloc[:200]) == {"live-qh-per-asset"}


def test_forecasts_suite_checks_in_the_warehouse_per_asset():
    """The forecast suite never reads the partition into pandas: the warehouse reduces it per asset and per
    column, and the same rules fail for the same assets."""
    assert not VPP_FORECASTS_SUITE.load_partition
    qh = pd.date_range(D, periods=96, freq="15min")
    f = VPP_FORECASTS_SUITE.table.conform(pd.concat([pd.DataFrame(
        {"delivery_day": D, "asset_id": asset, "version": pd.Timestamp(D) - pd.Timedelta(hours=1), "delivery_start": qh,
         "delivery_end": qh + pd.Timedelta(minutes=15), "mw": 1.0, "source_file": f"vpp/forecasts/{asset}.json"})
        for asset in ("WND-1", "SOL-1")], ignore_index=True))
    assert failed(VPP_FORECASTS_SUITE, f) == set()
    r = run_suite(VPP_FORECASTS_SUITE, with_row(f, 7, mw=4.5), REFS)  # 1.1 x 4 MW = 4.4 MW
    assert r.failed_ids == ["mw-le-capacity"] and r["mw-le-capacity"].failing_entities == ["WND-1"]
    assert failed(VPP_FORECASTS_SUITE, with_row(f, 100, mw=2.3)) == {"mw-le-capacity"}  # SOL-1: 2.3 > 1.1 x 2 MW
    assert failed(VPP_FORECASTS_SUITE, with_row(f, 7, mw=-1.0)) == {"mw-ge-0"}
    assert failed(VPP_FORECASTS_SUITE, with_row(f, 7, asset_id="SOL-X")) >= {"asset-known", "qh-per-asset"}
    assert failed(VPP_FORECASTS_SUITE, pd.concat([f, f.iloc[:1]], ignore_index=True)) == {"unique-key"}
    assert failed(VPP_FORECASTS_SUITE, with_row(f, 3, version=None)) == {"not-null"}
    assert failed(VPP_FORECASTS_SUITE, f.iloc[:180]) == {"qh-per-asset"}
    assert run_suite(VPP_FORECASTS_SUITE, f, REFS).row_count == 192


# ---------------------------------------------------------------------------------------------
# staging.exchange_private_trades (portfolio-wide: values are blocking)


def trades() -> pd.DataFrame:
    start = pd.to_datetime(["2025-06-08 10:00", "2025-06-08 10:15"])
    return EXCHANGE_PRIVATE_TRADES_SUITE.table.conform(pd.DataFrame({
        "delivery_day": D, "trade_id": ["1", "2"], "side": ["BUY", "SELL"], "product": ["hourly", "quarter_hourly"],
        "delivery_start": start, "delivery_end": start + pd.to_timedelta([60, 15], unit="min"),
        "execution_time": pd.to_datetime(["2025-06-07 15:00", "2025-06-08 09:00"]), "price_eur_per_mwh": [80.0, -10.0],
        "volume_mw": [0.1, 0.2], "currency": "EUR", "source_file": "exchange/Private_Trades-x.csv"}))


def test_private_trades_suite():
    f = trades()
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, f) == set()
    assert EXCHANGE_PRIVATE_TRADES_SUITE.checks["values"] == "blocking"
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 0, side="HOLD")) == {"side-in-set"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 0, volume_mw=0.0)) == {"volume_mw-range"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 0, price_eur_per_mwh=5000.0)) == {"price-plausible"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 0, price_eur_per_mwh=12000.0)) == {"price-plausible", "price-within-exchange-limits"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 0, currency="USD")) == {"currency-in-set"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 1, delivery_end=pd.Timestamp("2025-06-08 10:45"))) == {"duration"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 1, execution_time=pd.Timestamp("2025-06-08 11:00"))) == {"executed-before-end"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, with_row(f, 1, trade_id="1")) == {"unique-key"}
    assert failed(EXCHANGE_PRIVATE_TRADES_SUITE, f.iloc[0:0]) == {"has-trades"}


# ---------------------------------------------------------------------------------------------
# staging.imbalance_price_final


def test_imbalance_price_final_suite():
    f = IMBALANCE_PRICE_FINAL_SUITE.table.conform(pd.DataFrame({
        "delivery_day": D, "delivery_start": QHS, "delivery_end": QHS + pd.Timedelta(minutes=15),
        "price_short_eur_per_mwh": 90.0, "price_long_eur_per_mwh": 85.0, "published_at": D, "source_file": "imbalance/f.csv"}))
    assert failed(IMBALANCE_PRICE_FINAL_SUITE, f) == set()
    assert failed(IMBALANCE_PRICE_FINAL_SUITE, f.iloc[:86]) == {"qh-complete"}
    assert failed(IMBALANCE_PRICE_FINAL_SUITE, with_row(f, 3, price_short_eur_per_mwh=-800.0)) == {"price_short_eur_per_mwh-range"}


# ---------------------------------------------------------------------------------------------
# marts.best_of_infeed and marts.imbalance (per portfolio asset, 96 QHs blocking, shares WARN)


def best_of_infeed(source_wnd: str = "final") -> pd.DataFrame:
    parts = []
    for asset, src in (("SOL-1", "final"), ("WND-1", source_wnd)):
        parts.append(pd.DataFrame({"delivery_day": D, "asset_id": asset, "delivery_start": QHS,
                                   "delivery_end": QHS + pd.Timedelta(minutes=15), "mw": 1.0, "mwh": 0.25, "source": src,
                                   "final_mw": 1.0, "live_mw": None, "live_n_samples": None, "forecast_mw": None,
                                   "forecast_version": None, "redispatched": False, "metering_point_id": "MP",
                                   "contract_id": "C"}))
    return BEST_OF_INFEED_SUITE.table.conform(pd.concat(parts, ignore_index=True))


def test_best_of_infeed_suite():
    f = best_of_infeed()
    assert failed(BEST_OF_INFEED_SUITE, f) == set()
    r = run_suite(BEST_OF_INFEED_SUITE, best_of_infeed("forecast"), REFS)
    assert r.failed_ids == ["measured-share"] and r["measured-share"].severity == "warn"
    assert r["measured-share"].failing_entities == ["WND-1"]
    assert failed(BEST_OF_INFEED_SUITE, f.iloc[:150]) == {"qh-per-asset"}
    assert failed(BEST_OF_INFEED_SUITE, with_row(f, 0, source="guess")) == {"source-in-set", "no-missing"}
    assert failed(BEST_OF_INFEED_SUITE, with_row(f, 0, mwh=None)) == {"value-unless-missing"}
    assert failed(BEST_OF_INFEED_SUITE, with_row(with_row(f, 0, mwh=None), 0, source="missing")) == {"no-missing"}
    assert failed(BEST_OF_INFEED_SUITE, f.assign(asset_id=f["asset_id"].replace("WND-1", "WND-9"))) == {"qh-per-asset", "only-portfolio-assets"}
    assert failed(BEST_OF_INFEED_SUITE, with_row(f, 0, mw=3.0)) == {"mw-le-capacity"}


def test_imbalance_suite_estimate_share_is_a_warning():
    base = best_of_infeed()
    f = IMBALANCE_SUITE.table.conform(pd.DataFrame({
        "delivery_day": D, "asset_id": base["asset_id"], "delivery_start": base["delivery_start"],
        "delivery_end": base["delivery_end"], "best_of_infeed_mwh": 0.25, "infeed_source": "final",
        "tradeable_forecast_mwh": 0.2, "tradeable_version": D, "imbalance_mwh": 0.05, "direction": "long",
        "price_eur_per_mwh": 80.0, "price_source": "final", "cost_eur": -4.0, "reason": None}))
    prices = IMBALANCE_PRICE_FINAL_SUITE.table
    refs = inputs(marts__best_of_infeed=base, staging__imbalance_price_final=pd.DataFrame(
        {"delivery_day": [D], "delivery_start": [D], "price_short_eur_per_mwh": [80.0], "price_long_eur_per_mwh": [70.0]}))
    assert prices.qualified_name in {t.qualified_name for t in IMBALANCE_SUITE.sql_tables}
    assert failed(IMBALANCE_SUITE, f, refs) == set()
    est = f.copy()
    est.loc[est["delivery_start"] < D + pd.Timedelta(hours=3), "price_source"] = "estimate"  # 12.5 %
    r = run_suite(IMBALANCE_SUITE, est, refs)
    assert r.failed_ids == ["final-price-share"] and r.checks()["freshness"].severity == "warn"
    assert failed(IMBALANCE_SUITE, with_row(f, 0, direction="sideways"), refs) == {"direction-in-set"}
    # its inputs: best-of-infeed of a day with a portfolio (blocking), a price (warn)
    r = run_suite(IMBALANCE_SUITE, f, inputs(marts__best_of_infeed=base))
    assert r.failed_ids == ["prices-present"] and r.checks()["missing_inputs"].severity == "warn"
    assert r["prices-present"].observation == (
        "neither staging.imbalance_price_final has no final price nor staging.imbalance_price_estimates has no estimate "
        "on 2025-06-08 while marts.best_of_infeed has 192 rows")
    r = run_suite(IMBALANCE_SUITE, f, REFS)
    assert "inputs-present" in r.failed_ids and r.checks()["completeness"].severity == "blocking"
    assert "marts.best_of_infeed has no rows on 2025-06-08 while staging.crm_contracts has 2 contracts in force" in (
        r["inputs-present"].observation)


def asset_performance() -> pd.DataFrame:
    """Both portfolio assets of REFS, 96 QHs each, margins complete (the columns the suite reads; the rest NULL)."""
    blank = pd.DataFrame({c: [None, None] for c in ASSET_PERFORMANCE_SUITE.table.column_names})
    return ASSET_PERFORMANCE_SUITE.table.conform(blank.assign(
        delivery_day=D, asset_id=["SOL-1", "WND-1"], contract_id=["C-SOL", "C-WND"], capacity_mw=[2.0, 4.0],
        contract_valid=True, n_qh=96, n_qh_measured=[90, 96], n_qh_missing=0, bestof_mwh=[5.0, 20.0],
        tradeable_mae_pct_capacity=[8.0, 12.5], long_mwh=[0.5, 1.0], short_mwh=[0.25, 2.0],
        margin_known_eur=[10.0, 20.0], margin_complete=True, margin_eur=[10.0, 20.0]))


def test_asset_performance_suite_incomplete_margin_is_a_named_warning():
    from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
    from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
    from flexpower_dagster.defs.imbalance.tables import IMBALANCE
    from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
    from flexpower_dagster.defs.trading.tables import TRADING_QH

    f = asset_performance()
    REFS = inputs(CONTRACTS_IN_FORCE, ASSET_FORECAST, IMBALANCE, TRADING_QH, BEST_OF_INFEED)
    missing = run_suite(ASSET_PERFORMANCE_SUITE, f, inputs(CONTRACTS_IN_FORCE, ASSET_FORECAST, BEST_OF_INFEED))
    assert missing.failed_ids == ["inputs-present"]
    assert missing["inputs-present"].observation == (
        "marts.imbalance has no rows on 2025-06-08 while marts.best_of_infeed has 1 rows; "
        "marts.trading_qh has no rows on 2025-06-08 while marts.best_of_infeed has 1 rows")
    assert failed(ASSET_PERFORMANCE_SUITE, f, REFS) == set()
    blocked = with_row(with_row(f, 1, margin_complete=False), 1, margin_caveat="contract terms invalid, invoice blocked")
    r = run_suite(ASSET_PERFORMANCE_SUITE, blocked, REFS)
    assert r.failed_ids == ["margin-complete"] and r.checks()["margin"].severity == "warn"
    assert r["margin-complete"].failing_entities == ["WND-1"]
    assert failed(ASSET_PERFORMANCE_SUITE, f.iloc[:1], REFS) == {"row-per-asset"}
    assert failed(ASSET_PERFORMANCE_SUITE, f.assign(asset_id=["SOL-1", "WND-9"]), REFS) == {"row-per-asset", "only-portfolio-assets"}
    assert failed(ASSET_PERFORMANCE_SUITE, with_row(f, 0, n_qh=192, n_qh_measured=180), REFS) == {"qh-per-asset"}
    assert failed(ASSET_PERFORMANCE_SUITE, with_row(f, 0, n_qh_measured=97), REFS) == {"measured-le-qhs"}
    assert failed(ASSET_PERFORMANCE_SUITE, with_row(f, 0, short_mwh=-0.1), REFS) == {"short_mwh-range"}
    assert failed(ASSET_PERFORMANCE_SUITE, with_row(f, 0, tradeable_mae_pct_capacity=140.0), REFS) == {"tradeable-mae-plausible"}


# ---------------------------------------------------------------------------------------------
# marts.invoices (monthly)


def test_invoices_suite_blocked_contract_is_a_named_warning():
    f = INVOICES_SUITE.table.empty_frame()
    f = pd.DataFrame({c: [None, None] for c in f.columns})
    f = f.assign(invoice_month=pd.Timestamp("2025-06-01"), invoice_id=["2025-06-C-SOL", "2025-06-C-WND"],
                 contract_id=["C-SOL", "C-WND"], status=["final", "blocked"], problems=[None, "price_model 'fixed' without price"],
                 gross_eur=[100.0, None])
    f = INVOICES_SUITE.table.conform(f)
    r = run_suite(INVOICES_SUITE, f)
    assert set(r.failed_ids) == {"not-blocked", "final"}
    assert r["not-blocked"].failing_entities == ["C-WND"]
    assert failed(INVOICES_SUITE, with_row(f, 1, problems=None)) >= {"blocked-has-reason"}
    assert failed(INVOICES_SUITE, with_row(f, 0, gross_eur=None)) >= {"issued-has-amount"}
    assert failed(INVOICES_SUITE, with_row(f, 0, status="paid")) >= {"status-in-set"}


@pytest.mark.parametrize("suite", all_suites(), ids=lambda s: s.name)
def test_empty_partition_never_crashes(suite):
    result = run_suite(suite, suite.table.empty_frame(), REFS)
    assert all(r.error is None or "view" not in r.error for r in result.results), [r.error for r in result.results if r.error]
    assert result.checks()["structure"].passed


def test_failing_rows_rules_name_each_breaking_row_and_its_problem():
    """Rules stated as the rows that break them (GX UnexpectedRowsExpectation): the rows are the observation."""
    f = trades()
    off = with_row(with_row(f, 1, delivery_start=pd.Timestamp("2025-06-08 10:20")), 1, delivery_end=pd.Timestamp("2025-06-08 10:35"))
    r = run_suite(EXCHANGE_PRIVATE_TRADES_SUITE, off)
    assert r.failed_ids == ["on-qh-grid"] and r["on-qh-grid"].type == "UnexpectedRowsExpectation"
    assert r["on-qh-grid"].entity_observations == {"2": "delivery_start 2025-06-08 10:20:00 is not on a quarter-hour boundary"}
    # a day whose only export was refused has no data (blocking for trades); every refused file is named
    rejected = pd.DataFrame({"delivery_day": [D], "source": ["exchange_private_trades"], "file": ["exchange/Private_Trades-x.csv"],
                             "row": [2], "rule": ["out-of-bounds"], "reason": ["price"], "seen_at": [D]})
    refs = Refs(day=DAY, tables={"staging.rejected_files": rejected})
    r = run_suite(EXCHANGE_PRIVATE_TRADES_SUITE, f.iloc[0:0], refs)
    assert set(r.failed_ids) == {"file-usable", "no-file-refused", "has-trades"}
    assert r.checks()["completeness"].severity == "blocking" and r.checks()["rejected_files"].severity == "warn"
    assert r["file-usable"].observation == (
        "exchange_private_trades: no file of the day was loaded; refused: exchange/Private_Trades-x.csv")
    assert r["no-file-refused"].failing_entities == ["exchange/Private_Trades-x.csv"]
    assert run_suite(EXCHANGE_PRIVATE_TRADES_SUITE, f, refs).failed_ids == ["no-file-refused"]


def test_position_identity_names_the_quarter_hours_off_the_identity():
    from flexpower_dagster.defs.position.expectations import POSITION_QH_SUITE

    table = POSITION_QH_SUITE.table
    f = table.conform(pd.DataFrame({c: [None] * 3 for c in table.column_names}).assign(
        delivery_day=D, scope="portfolio", delivery_start=QHS[:3], latest_forecast_mwh=[1.0, 1.0, None],
        net_sold_mwh=[0.25, 0.25, 0.5], n_assets_without_latest=[0, 0, 1], open_position_mwh=[0.75, 0.5, None]))
    r = run_suite(POSITION_QH_SUITE, f)["open-is-forecast-minus-net-sold"]
    assert not r.passed and r.failing_rows == 1 and r.failing_entities == ["portfolio"]
    assert r.entity_observations == {
        "portfolio": "00:15: open_position_mwh = 0.5, latest_forecast_mwh - net_sold_mwh = 0.75 (0 assets without a latest forecast)"}
    assert run_suite(POSITION_QH_SUITE, f.assign(open_position_mwh=[0.75, 0.75, None]))["open-is-forecast-minus-net-sold"].passed


def test_sql_structure_names_missing_undeclared_and_mistyped_columns():
    """structure_sql reads the warehouse's catalog: each column that breaks a rule is a failing row."""
    import duckdb

    from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
    from flexpower_dagster.lib.landing.source import REJECTED_FILES
    from flexpower_dagster.lib.sql import quote
    from flexpower_dagster.lib.warehouse import ensure_table

    table = VPP_FORECASTS_SUITE.table
    conn = duckdb.connect()
    for spec in (CRM_CONTRACTS, REJECTED_FILES):
        ensure_table(conn, spec)
    columns = [f"{quote(c.name)} {'VARCHAR' if c.name == 'mw' else c.type}" for c in table.columns if c.name != "source_file"]
    conn.execute(f"CREATE TABLE {table.qualified_name} ({', '.join(columns)}, extra BIGINT)")
    r = run_suite(VPP_FORECASTS_SUITE, table.empty_frame(), Refs(day=DAY, conn=conn))
    assert {i: r[i].failing_entities for i in ("columns", "columns-declared", "column-types")} == {
        "columns": ["source_file"], "columns-declared": ["extra"], "column-types": ["mw"]}
    assert r["column-types"].observation == "mw: declared DOUBLE, stored VARCHAR"
