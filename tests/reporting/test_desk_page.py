"""The trading desk page (reports/pages/desk.md, components/DeskPosition.svelte) in headless Chromium, on the site
the session builds from the sample day.

The page reads the data file the position asset rewrites in the published site (live/desk_position.json), never a
site rebuild. Two positions of the sample day are written to it in turn: an *intraday* one (the private trades
executed before 12:00Z only, the trading and position marts re-materialised on a copy of the warehouse) and the
*end-of-day* one (every trade). The page must show each exactly as marts.position_qh holds it (independent SQL),
follow a rewrite of the file without a reload (its poll, and the Refresh button), and say how old its data is.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pandas as pd
import pytest

from flexpower_dagster.defs.position.assets import marts_position_qh
from flexpower_dagster.defs.position.desk import DESK_FILE, desk_payload, write_desk_file
from flexpower_dagster.defs.trading.assets import marts_trading_daily, marts_trading_qh

from report_support import SAMPLE_DAY, WIDTHS, PageVisit, assert_shown
from support import SAMPLE_DIR, resources_for

BERLIN = ZoneInfo("Europe/Berlin")
#: The intraday position: the trades executed before this instant (UTC) only.
CUTOFF = "2025-06-08 12:00:00"
SOURCES = ("forecast", "private_trades", "public_trades", "imbalance_estimate", "imbalance_final")


def _now() -> datetime:
    return datetime.utcnow().replace(microsecond=0)


@pytest.fixture(scope="module")
def intraday_warehouse(built_site, tmp_path_factory):
    """A copy of the report warehouse as it was at CUTOFF for the trades: fewer private trades, then the trading
    marts and the position re-materialised for the sample day."""
    root = tmp_path_factory.mktemp("desk_intraday")
    wh = root / "warehouse.duckdb"
    shutil.copy(built_site.warehouse, wh)
    with duckdb.connect(str(wh)) as conn:
        conn.execute("DELETE FROM staging.exchange_private_trades WHERE delivery_day = ? AND execution_time >= ?",
                     [SAMPLE_DAY, CUTOFF])
        assert conn.execute("SELECT count(*) FROM staging.exchange_private_trades WHERE delivery_day = ?",
                            [SAMPLE_DAY]).fetchone()[0] > 0
    dg.materialize([marts_trading_qh, marts_trading_daily, marts_position_qh], partition_key=SAMPLE_DAY,
                   resources=resources_for(SAMPLE_DIR, wh, root / "data"))
    return wh


class Desk:
    """Independent figures of one warehouse's desk page: plain SQL over marts.position_qh and marts.trading_daily."""

    def __init__(self, path):
        self.path = path

    def q(self, sql: str, params=None) -> pd.DataFrame:
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(sql, params or [SAMPLE_DAY]).fetchdf()

    def tiles(self, scope: str = "portfolio") -> dict:
        t = self.q("""SELECT sum(open_position_mwh) AS open_position_mwh, sum(latest_forecast_mwh) AS latest_forecast_mwh,
                sum(net_sold_mwh) AS net_sold_mwh, sum(expected_imbalance_cost_eur) AS expected_imbalance_cost_eur,
                sum(open_position_value_eur) AS open_position_value_eur, sum(realised_revenue_eur) AS realised_revenue_eur
            FROM marts.position_qh WHERE delivery_day = ? AND scope = ?""", [SAMPLE_DAY, scope]).iloc[0].to_dict()
        d = self.q("SELECT vwap_eur_per_mwh, market_vwap_eur_per_mwh FROM marts.trading_daily WHERE delivery_day = ?").iloc[0]
        return t | {"realised_vwap_eur_per_mwh": d.vwap_eur_per_mwh, "market_vwap_eur_per_mwh": d.market_vwap_eur_per_mwh,
                    "vwap_spread_eur_per_mwh": d.vwap_eur_per_mwh - d.market_vwap_eur_per_mwh}

    def bars(self, scope: str = "portfolio") -> dict[str, float]:
        r = self.q("SELECT delivery_start, open_position_mwh FROM marts.position_qh WHERE delivery_day = ? AND scope = ? "
                   "AND open_position_mwh IS NOT NULL", [SAMPLE_DAY, scope])
        return {s.strftime("%Y-%m-%dT%H:%M:%SZ"): v for s, v in zip(r.delivery_start, r.open_position_mwh)}

    def sources(self) -> dict[str, str]:
        """Berlin wall-clock time of the newest input per source, as the page prints it (de-DE)."""
        one = lambda sql: self.q(sql).iloc[0, 0]  # noqa: E731
        raw = {
            "forecast": one("SELECT max(forecast_version) FROM marts.position_qh WHERE delivery_day = ?"),
            "private_trades": one("SELECT max(trades_exported_at) FROM marts.position_qh WHERE delivery_day = ?"),
            "public_trades": pd.Timestamp(datetime.strptime(
                one("SELECT max(regexp_extract(source_file, 'Trades-[0-9]{8}-([0-9]{8}T[0-9]{6})', 1)) "
                    "FROM staging.exchange_public_trades WHERE delivery_day = ?"), "%Y%m%dT%H%M%S")),
            "imbalance_estimate": one("SELECT max(published_at) FROM staging.imbalance_price_estimates WHERE delivery_day = ?"),
            "imbalance_final": one("SELECT max(published_at) FROM staging.imbalance_price_final WHERE delivery_day = ?"),
        }
        return {k: pd.Timestamp(v).tz_localize("UTC").tz_convert(BERLIN).strftime("%d.%m.%Y, %H:%M:%S")
                for k, v in raw.items()}


def write(warehouse, build, generated_at: datetime) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        payload = desk_payload(conn, generated_at)
    write_desk_file(payload, build)
    return payload


@pytest.fixture
def desk(visit):
    """The desk page opened at a width (the ``visit`` fixture of conftest.py), once its data file is read."""

    def _open(width: str = "desktop") -> PageVisit:
        v = visit(width)
        v.open("/desk/")
        v.page.wait_for_selector("[data-desk-status=ok]", timeout=30_000)
        return v

    return _open


def tile(v: PageVisit, name: str) -> str:
    return v.page.locator(f'[data-desk-kpi="{name}"] .text-xl').inner_text().strip()


def check_page(v: PageVisit, figures: Desk, scope: str = "portfolio") -> None:
    for name, value in figures.tiles(scope).items():
        assert_shown(tile(v, name), value, f"desk {scope}/{name}")
    bars = v.page.eval_on_selector_all("[data-desk-bar]", "els => els.map(e => [e.dataset.deskBar, +e.dataset.mwh])")
    want = figures.bars(scope)
    assert {b for b, _ in bars} == set(want), f"bars: {len(bars)} shown, {len(want)} QHs with an open position"
    for start, mwh in bars:
        assert mwh == pytest.approx(want[start], abs=0.0005 + 1e-9), start
    assert v.page.locator("[data-desk-table] tbody tr").count() == 96


def wait_for_tile(v: PageVisit, name: str, value: float, seconds: float) -> None:
    """Until the tile shows ``value`` (to its rounding), at most ``seconds``."""
    deadline = datetime.now() + timedelta(seconds=seconds)
    while True:
        try:
            assert_shown(tile(v, name), value, name)
            return
        except AssertionError:
            if datetime.now() > deadline:
                raise
            v.page.wait_for_timeout(250)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_desk_page_shows_the_position(built_site, desk, width):
    generated = _now() - timedelta(seconds=42)
    payload = write(built_site.warehouse, built_site.build, generated)
    assert payload["days"] == [SAMPLE_DAY]
    v = desk(width)
    figures = Desk(built_site.warehouse)
    check_page(v, figures)
    shown_sources = {k: v.page.locator(f'[data-desk-source="{k}"] dd').inner_text().strip() for k in SOURCES}
    assert shown_sources == figures.sources()
    # the data's age, counted from the file's time in the browser: 42 s plus the seconds the page took
    age = int(v.page.get_attribute("[data-desk-age]", "data-desk-age"))
    assert 42 <= age <= 42 + 60, age
    assert "s ago" in v.page.locator("[data-desk-age]").inner_text()
    # the technology scopes (a scope picker), with the unattributable QHs counted, never drawn as 0
    v.page.select_option('[data-desk-picker="scope"]', "wind")
    v.page.wait_for_timeout(300)
    check_page(v, figures, "wind")
    assert "6 QHs unknown" in v.page.locator('[data-desk-kpi="open_position_mwh"]').inner_text()
    width_px = v.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width_px[0] <= width_px[1], f"/desk/ is {width_px[0]} px wide at {width_px[1]} px"
    v.screenshot("desk" if width == "desktop" else "desk-phone")
    v.assert_clean()


def test_desk_page_follows_a_rewritten_file(built_site, intraday_warehouse, desk):
    intraday, end_of_day = Desk(intraday_warehouse), Desk(built_site.warehouse)
    early, late = intraday.tiles(), end_of_day.tiles()
    assert abs(early["open_position_mwh"] - late["open_position_mwh"]) > 1  # two different positions
    first = write(intraday_warehouse, built_site.build, _now())
    v = desk()
    check_page(v, intraday)
    shown_at = v.page.get_attribute("[data-desk-generated]", "data-desk-generated")
    assert shown_at == first["generated_at"]

    # the file is rewritten (as the position asset does after an update): the page's poll shows it, no reload
    later = write(built_site.warehouse, built_site.build, _now() + timedelta(seconds=1))
    wait_for_tile(v, "open_position_mwh", late["open_position_mwh"], seconds=12)
    check_page(v, end_of_day)
    assert v.page.get_attribute("[data-desk-generated]", "data-desk-generated") == later["generated_at"]

    # the Refresh button reads it at once
    again = write(intraday_warehouse, built_site.build, _now() + timedelta(seconds=2))
    v.page.click("[data-desk-refresh]")
    wait_for_tile(v, "open_position_mwh", early["open_position_mwh"], seconds=3)
    assert v.page.get_attribute("[data-desk-generated]", "data-desk-generated") == again["generated_at"]
    assert v.page.evaluate("location.pathname") == "/desk/"
    v.assert_clean()
    # the published site keeps serving the data file the page reads
    assert (built_site.build / DESK_FILE).exists()
