"""The daily marts on the real sample day 2025-06-08, checked against figures derived independently
from the landing files (plain pandas/json over the sample files, not the project's parsers)."""

import glob
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flexpower_dagster.settings import Settings

from support import SAMPLE_DAY, materialize_day

MARTS = {
    "asset_forecast": ("asset_id", "delivery_start"),
    "portfolio_forecast": ("delivery_start",),
    "live_infeed": ("asset_id", "delivery_start"),
    "best_of_infeed": ("asset_id", "delivery_start"),
    "portfolio_best_of_infeed": ("delivery_start",),
    "trading_qh": ("delivery_start",),
    "trading_daily": (),
    "imbalance": ("asset_id", "delivery_start"),
    "portfolio_imbalance": ("delivery_start",),
}
ASSETS = ["SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003"]
DAY0 = pd.Timestamp(SAMPLE_DAY)
QHS = pd.date_range(DAY0, periods=96, freq="15min")


def assert_marts_materialised(result) -> None:
    """Every mart this module reads was materialised by the day's run (the session's ``sample_day``)."""
    done = {e.asset_key.path[-1] for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "marts"}
    failed = sorted({e.step_key for e in result.all_events if e.is_step_failure or e.is_step_skipped})
    assert set(MARTS) <= done, f"marts not materialised: {sorted(set(MARTS) - done)}; failed/skipped steps: {failed}"


def read_table(settings: Settings, name: str) -> pd.DataFrame:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        order = ", ".join(("delivery_day",) + MARTS[name])
        return con.execute(f"SELECT * FROM marts.{name} WHERE delivery_day = ? ORDER BY {order}", [DAY0.date()]).fetchdf()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample_settings(sample_day) -> Settings:
    """Every daily asset of the full definitions (but the report site) for the sample day: tests/conftest.py."""
    assert_marts_materialised(sample_day.result)
    return sample_day.settings


@pytest.fixture(scope="module")
def marts(sample_settings) -> dict[str, pd.DataFrame]:
    return {name: read_table(sample_settings, name) for name in MARTS}


# ---------------------------------------------------------------------------------------------
# independent derivations from the landing files


def private_trades(sample_dir: Path, kind: str = "Private") -> pd.DataFrame:
    (path,) = glob.glob(str(sample_dir / "exchange" / f"{kind}_Trades-20250608-*.csv"))
    df = pd.read_csv(path, sep=";", skiprows=1)
    start = pd.to_datetime(df.DeliveryStart, utc=True, format="ISO8601").dt.tz_localize(None)
    end = pd.to_datetime(df.DeliveryEnd, utc=True, format="ISO8601").dt.tz_localize(None)
    df = df.assign(start=start, hours=(end - start).dt.total_seconds() / 3600)
    return df[(df.start >= DAY0) & (df.start < DAY0 + pd.Timedelta(days=1))]


def final_mwh_per_asset(sample_dir: Path) -> dict[str, float]:
    contracts = pd.read_csv(sorted(glob.glob(str(sample_dir / "crm" / "*.csv")))[-1])
    asset_of = dict(zip(contracts.metering_point_id, contracts.asset_id))
    out = {}
    for path in glob.glob(str(sample_dir / "distribution_system_operator" / "final_production_*.csv")):
        df = pd.read_csv(path)
        mp = df.columns[1].removesuffix("__kw_")
        out[asset_of[mp]] = df.iloc[:, 1].sum() / 1000 * 0.25
    return out


def forecast_versions(sample_dir: Path) -> pd.DataFrame:
    frames = []
    for path in glob.glob(str(sample_dir / "vpp" / "forecasts" / "*.json")):
        d = json.loads(Path(path).read_text())
        start, _, version, power = d["values"]
        frames.append(pd.DataFrame({"asset_id": d["key"]["asset_id"], "start": start, "version": version, "kw": power}))
    df = pd.concat(frames, ignore_index=True)
    df["start"] = pd.to_datetime(df.start, unit="s")  # declared ms, really seconds
    df["version"] = pd.to_datetime(df.version, unit="s")
    return df[(df.start >= DAY0) & (df.start < DAY0 + pd.Timedelta(days=1))]


def pick(versions: pd.DataFrame, gate: pd.Timedelta) -> pd.Series:
    ok = versions[versions.version <= versions.start - gate]
    newest = ok.sort_values("version").groupby(["asset_id", "start"]).tail(1)
    return newest.groupby("asset_id").kw.sum() / 1000 * 0.25


def live_qhs(sample_dir: Path, short: str) -> set:
    d = json.loads((sample_dir / "vpp" / "live_measured_infeed" / f"{short}_20250608.json").read_text())
    ts = pd.to_datetime(pd.Series(d["values"][0]), unit="ms")
    ts = ts[(ts >= DAY0) & (ts < DAY0 + pd.Timedelta(days=1))]
    return set(ts.dt.floor("15min"))


def final_price_qhs(sample_dir: Path) -> set:
    (path,) = glob.glob(str(sample_dir / "imbalance" / "imbalance_price_final_*.csv"))
    df = pd.read_csv(path, sep=";")
    df = df[df.Datum == "08.06.2025"]
    return set(pd.to_datetime("2025-06-08 " + df.von))


# ---------------------------------------------------------------------------------------------


def test_one_row_per_key_and_96_qhs_per_asset(marts):
    for name, key in MARTS.items():
        df = marts[name]
        assert len(df) > 0, name
        assert not df.duplicated(["delivery_day", *key]).any(), name
    for name in ("asset_forecast", "best_of_infeed", "imbalance"):
        sizes = marts[name].groupby("asset_id").size()
        assert sorted(sizes.index) == ASSETS and (sizes == 96).all(), name
    for name in ("portfolio_forecast", "portfolio_best_of_infeed", "trading_qh", "portfolio_imbalance"):
        assert list(marts[name].delivery_start) == list(QHS), name
    assert len(marts["trading_daily"]) == 1


def test_forecasts_match_the_json_files(marts, sample_dir):
    versions = forecast_versions(sample_dir)
    af = marts["asset_forecast"].groupby("asset_id")
    latest, tradeable = pick(versions, pd.Timedelta(0)), pick(versions, pd.Timedelta(minutes=15))
    for asset in ASSETS:
        assert af.latest_mwh.sum()[asset] == pytest.approx(latest[asset], rel=1e-9)
        assert af.tradeable_mwh.sum()[asset] == pytest.approx(tradeable[asset], rel=1e-9)
    rows = marts["asset_forecast"]
    assert (rows.latest_version <= rows.delivery_start).all()
    assert (rows.tradeable_version <= rows.delivery_start - pd.Timedelta(minutes=15)).all()
    assert rows.tradeable_mw.notna().all()  # versions from 2025-06-07 00:00 on cover every QH
    assert marts["portfolio_forecast"].latest_mwh.sum() == pytest.approx(rows.latest_mwh.sum())


def test_best_of_infeed_sources(marts, sample_dir):
    boi = marts["best_of_infeed"]
    finals = final_mwh_per_asset(sample_dir)
    assert sorted(finals) == ["SOL-DE-001", "SOL-DE-002", "WND-DE-002", "WND-DE-003"]  # no MP-WND-001 file
    for asset, mwh in finals.items():
        rows = boi[boi.asset_id == asset]
        assert (rows.source == "final").all(), asset  # final wins over live and redispatch flags
        assert rows.mwh.sum() == pytest.approx(mwh, rel=1e-9), asset
    # WND-DE-001: no final file -> live where its live file has samples, forecast elsewhere
    wnd1 = boi[boi.asset_id == "WND-DE-001"].set_index("delivery_start")
    live = live_qhs(sample_dir, "WND01")
    assert set(wnd1.index[wnd1.source == "live"]) == live
    assert set(wnd1.index[wnd1.source == "forecast"]) == set(QHS) - live
    assert len(live) == 88  # the live file follows the German day: 22:00Z-24:00Z is in the next file
    # SOL-DE-001 has no live file at all (and is final everywhere)
    assert not (sample_dir / "vpp" / "live_measured_infeed" / "SOL01_20250608.json").exists()
    assert "SOL-DE-001" not in set(marts["live_infeed"].asset_id)
    assert (boi.source != "missing").all() and boi.mwh.notna().all()
    p = marts["portfolio_best_of_infeed"]
    assert p.mwh.sum() == pytest.approx(boi.mwh.sum())
    assert (p.final_share == 0.8).all()  # 4 of 5 assets final in every QH
    assert (p.final_share + p.live_share + p.forecast_share + p.missing_share).round(12).eq(1).all()


def test_trading_matches_the_exchange_files(marts, sample_dir):
    priv = private_trades(sample_dir)
    sign = priv.Side.map({"SELL": 1, "BUY": -1})
    mwh = priv.Volume * priv.hours
    d = marts["trading_daily"].iloc[0]
    assert d.n_trades == priv.TradeId.nunique() == 3349
    assert d.revenue_eur == pytest.approx((sign * mwh * priv.Price).sum(), rel=1e-9)
    assert d.net_volume_mwh == pytest.approx((sign * mwh).sum(), rel=1e-9)
    assert d.vwap_eur_per_mwh == pytest.approx((mwh * priv.Price).sum() / mwh.sum(), rel=1e-9)
    pub = private_trades(sample_dir, "Public")
    pmwh = pub.Volume * pub.hours
    assert d.market_vwap_eur_per_mwh == pytest.approx((pmwh * pub.Price).sum() / pmwh.sum(), rel=1e-9)
    q = marts["trading_qh"]
    assert q.revenue_eur.sum() == pytest.approx(d.revenue_eur)
    assert q.net_volume_mwh.sum() == pytest.approx(d.net_volume_mwh)


def test_imbalance_estimates_and_consistency(marts, sample_dir):
    estimate_qhs = set(QHS) - final_price_qhs(sample_dir)
    assert len(estimate_qhs) == 10
    imb = marts["imbalance"]
    assert set(imb.delivery_start[imb.price_source == "estimate"]) == estimate_qhs
    assert (imb.price_source != "none").all() and imb.cost_eur.notna().all()
    joined = imb.merge(marts["best_of_infeed"], on=["asset_id", "delivery_start"]).merge(
        marts["asset_forecast"], on=["asset_id", "delivery_start"]
    )
    assert (joined.imbalance_mwh - (joined.mwh - joined.tradeable_mwh)).abs().max() < 1e-12
    assert (imb.cost_eur + imb.imbalance_mwh * imb.price_eur_per_mwh).abs().max() < 1e-9
    p = marts["portfolio_imbalance"]
    assert set(p.delivery_start[p.estimate_priced]) == estimate_qhs
    net = imb.groupby("delivery_start").imbalance_mwh.sum()
    assert (p.set_index("delivery_start").imbalance_mwh - net).abs().max() < 1e-12
    assert p.sum_of_asset_costs_eur.sum() == pytest.approx(imb.cost_eur.sum())


@pytest.mark.slow
def test_rerun_gives_identical_tables(marts, sample_day, tmp_path):
    settings = sample_day.copy(tmp_path)  # the day's warehouse, written again: the partition is replaced, never duplicated
    assert_marts_materialised(materialize_day(settings, SAMPLE_DAY, raise_on_error=False))
    for name in MARTS:
        again = read_table(settings, name)
        pd.testing.assert_frame_equal(again, marts[name], check_exact=True, obj=name)
