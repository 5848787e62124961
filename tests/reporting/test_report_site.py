"""The report site, built once from the sample day (and its month's invoices), opened in Debian's headless Chromium
at a laptop (1440x900) and a phone (390x844) width.

On every page at both widths:
* no console error, no request leaving 127.0.0.1, no data file read in full (range requests);
* the page is never wider than the screen (``document.documentElement.scrollWidth <= innerWidth``);
* every chart's data equals an independent SQL over the warehouse (tests/reporting/report_support.py: Expected), one value per
  bar segment / point, and every multi-series chart has a legend naming its series in the chart's colours;
* every KPI tile equals the warehouse (to the shown rounding), the per-asset tables and their totals too;
* no "-0,00" and no query error in the text.
Plus: the selection is in the URL and carries across pages; the one asset page follows its asset parameter;
page queries read per-QH tables one day at a time; a page with a broken query fails the build check, naming the
page (built in a separate project: test pages never reach the site).

Screenshots of every page go to build/screenshots/ (ignored by git); `make screenshots` writes them to
docs/screenshots/ instead (shown in the README and docs/reports.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pandas as pd
import pytest

from flexpower_dagster.defs.reporting import assets as report_assets
from flexpower_dagster.defs.reporting.site import BuildResult, check_build, list_pages, publish_build
from flexpower_dagster.lib.dagster.resources import Alerting, DataDir, WarehouseSnapshot
from flexpower_dagster.settings import PROJECT_ROOT

from report_support import (
    BROKEN_PAGE,
    BROKEN_PAGE_MD,
    SAMPLE_DAY,
    SITE_PAGES,
    WIDTHS,
    Expected,
    PageVisit,
    assert_shown,
)

NEGATIVE_ZERO = re.compile(r"(?<![\d.,])-0,0+(?![0-9])")
BLOCKED_ASSET = "WND-DE-003"  # the sample's contract with inconsistent terms (invoice blocked)
OTHER_ASSET = "WND-DE-002"
D = SAMPLE_DAY

#: Every page the reader can reach, with the parameters that show its asset views too.
VISITS = {
    "overview": ("/?day=" + D, "overview", None),
    "asset": (f"/asset/?asset={BLOCKED_ASSET}&day={D}", "asset", BLOCKED_ASSET),
    "trading": (f"/trading/?day={D}", "trading", None),
    "trading-asset": (f"/trading/?day={D}&asset={OTHER_ASSET}", "trading", OTHER_ASSET),
    "imbalance": (f"/imbalance/?day={D}", "imbalance", None),
    "imbalance-asset": (f"/imbalance/?day={D}&asset={BLOCKED_ASSET}", "imbalance", BLOCKED_ASSET),
    "invoices": ("/invoices/", "invoices", None),
    "data-quality": ("/data-quality/", "data-quality", None),
    "alerts": ("/alerts/", "alerts", None),
}


@pytest.fixture(scope="module")
def expected(built_site) -> Expected:
    return Expected(built_site.warehouse, SAMPLE_DAY)


# ------------------------------------------------------------------------------------------------ KPI registry
def expected_tiles(e: Expected, visit_name: str, asset: str | None) -> dict:
    if visit_name == "overview":
        mtd, day, inv = e.month_to_date(), e.the_day(), e.invoices()
        mtd.pop("margin_known_eur")  # the tiles show the margin over the complete assets only
        return {f"mtd_{k}": v for k, v in mtd.items()} | {
            k: day[k] for k in ("bestof_mwh", "latest_forecast_mwh", "tradeable_forecast_mwh", "revenue_eur",
                                "vwap_eur_per_mwh", "market_vwap_eur_per_mwh", "imbalance_cost_eur", "margin_complete_eur",
                                "tradeable_mae_pct_capacity")
        } | {"inv_final": inv["n_final"], "inv_provisional": inv["n_provisional"], "inv_blocked": inv["n_blocked"]}
    if visit_name == "asset":
        day = e.asset_figures(through_month=False).loc[asset]
        month = e.asset_figures(through_month=True).loc[asset]
        acc = e.asset_accuracy(asset)
        perf = e.q("SELECT * FROM marts.asset_performance WHERE delivery_day = ? AND asset_id = ?", [e.day, asset]).iloc[0]
        forecasts = e.q("SELECT sum(latest_mwh) AS l, sum(tradeable_mwh) AS t FROM marts.asset_forecast "
                        "WHERE delivery_day = ? AND asset_id = ?", [e.day, asset]).iloc[0]
        priced = e.one("SELECT sum(b.mwh) FROM marts.best_of_infeed b JOIN marts.trading_qh t USING (delivery_day, delivery_start) "
                       "WHERE b.delivery_day = ? AND b.asset_id = ? AND t.market_vwap_eur_per_mwh IS NOT NULL", [e.day, asset])
        baseload = e.one("SELECT avg(market_vwap_eur_per_mwh) FROM marts.trading_qh WHERE delivery_day = ?")
        capacity = e.one("SELECT min(capacity_mw) FROM marts.contracts_in_force WHERE delivery_day = ? AND asset_id = ?",
                         [e.day, asset])
        n_measured = e.one("SELECT count(*) FROM marts.best_of_infeed WHERE delivery_day = ? AND asset_id = ? "
                           "AND source IN ('final', 'live')", [e.day, asset])
        invoice = e.one("SELECT status FROM marts.invoices WHERE invoice_month = ? AND asset_id = ?", [e.month_start, asset])
        return {
            "margin_eur": e.margin_complete(through_month=False)["per_asset"].get(asset),
            "trading_revenue_eur": day.revenue_eur, "payout_eur_est": day.payout_eur,
            "fee_eur_est": day.fee_eur, "imbalance_cost_eur": day.cost_eur, "market_value_eur": day.market_value_eur,
            "bestof_mwh": day.bestof_mwh, "latest_forecast_mwh": forecasts.l, "tradeable_forecast_mwh": forecasts.t,
            "capture_price_eur_per_mwh": day.market_value_eur / priced,
            "capture_rate": day.market_value_eur / priced / baseload,
            **acc,
            "imbalance_mwh": day.imbalance_mwh, "long_mwh": day.long_mwh, "short_mwh": day.short_mwh,
            "imbalance_cost_eur_per_mwh": day.cost_eur / day.bestof_mwh,
            "mtd_margin_complete_eur": e.margin_complete(through_month=True)["per_asset"].get(asset),
            "mtd_trading_revenue_eur": month.revenue_eur,
            "mtd_payout_eur_est": month.payout_eur, "mtd_imbalance_cost_eur": month.cost_eur,
            "mtd_market_value_eur": month.market_value_eur,
            "mtd_tradeable_mae_pct_capacity": 100 * acc["tradeable_mae_mwh"] / (capacity * 0.25) if n_measured else None,
            "mtd_invoice_status": invoice or "not invoiced yet",
            "_perf_consistency": (perf.margin_known_eur, day.margin_eur),
        }
    if visit_name in ("trading", "trading-asset"):
        mtd, day = e.month_to_date(), e.the_day()
        days = e.portfolio_days()
        out = {
            "range_revenue_eur": mtd["revenue_eur"], "range_n_trades": days.n_trades.sum(),
            "range_net_volume_mwh": days.net_volume_mwh.sum(), "range_vwap_eur_per_mwh": mtd["vwap_eur_per_mwh"],
            "range_market_vwap_eur_per_mwh": mtd["market_vwap_eur_per_mwh"],
            "range_vwap_spread_eur_per_mwh": mtd["vwap_eur_per_mwh"] - mtd["market_vwap_eur_per_mwh"],
            "revenue_eur": day["revenue_eur"], "n_trades": day["n_trades"], "net_volume_mwh": day["net_volume_mwh"],
            "vwap_eur_per_mwh": day["vwap_eur_per_mwh"], "market_vwap_eur_per_mwh": day["market_vwap_eur_per_mwh"],
            "vwap_spread_eur_per_mwh": day["vwap_eur_per_mwh"] - day["market_vwap_eur_per_mwh"],
        }
        if asset:
            a = e.asset_figures(through_month=True).loc[asset]
            tradeable = e.one("SELECT sum(tradeable_mwh) FROM marts.asset_forecast WHERE delivery_day BETWEEN ? AND ? "
                              "AND asset_id = ?", [e.month_start, e.day, asset])
            priced = e.one("SELECT sum(b.mwh) FROM marts.best_of_infeed b JOIN marts.trading_qh t USING (delivery_day, delivery_start) "
                           "WHERE b.delivery_day BETWEEN ? AND ? AND b.asset_id = ? AND t.market_vwap_eur_per_mwh IS NOT NULL",
                           [e.month_start, e.day, asset])
            out |= {"asset_trading_revenue_eur": a.revenue_eur, "asset_tradeable_forecast_mwh": tradeable,
                    "asset_revenue_per_tradeable_mwh": a.revenue_eur / tradeable, "asset_market_value_eur": a.market_value_eur,
                    "asset_capture_price_eur_per_mwh": a.market_value_eur / priced}
        return out
    if visit_name == "imbalance":
        days, day = e.portfolio_days(), e.the_day()
        return {
            "range_imbalance_mwh": days.imbalance_mwh.sum(), "range_imbalance_cost_eur": days.cost_eur.sum(),
            "range_sum_of_asset_costs_eur": days.asset_costs_eur.sum(),
            "range_netting_benefit_eur": days.asset_costs_eur.sum() - days.cost_eur.sum(),
            "range_imbalance_cost_eur_per_mwh": days.cost_eur.sum() / days.bestof_mwh.sum(),
            **{k: day[k] for k in ("imbalance_mwh", "imbalance_cost_eur", "sum_of_asset_costs_eur", "netting_benefit_eur")},
        }
    if visit_name == "alerts":
        return {"alerts": e.one("SELECT count(*) FROM marts.alerts WHERE status = 'open'", [])}
    if visit_name == "imbalance-asset":
        a, m = e.asset_figures(through_month=False).loc[asset], e.asset_figures(through_month=True).loc[asset]
        return {
            "asset_range_imbalance_cost_eur": m.cost_eur, "asset_range_imbalance_mwh": m.imbalance_mwh,
            "asset_range_long_mwh": m.long_mwh, "asset_range_short_mwh": m.short_mwh,
            "asset_range_cost_per_mwh": m.cost_eur / m.bestof_mwh,
            "asset_imbalance_cost_eur": a.cost_eur, "asset_imbalance_mwh": a.imbalance_mwh,
            "asset_long_mwh": a.long_mwh, "asset_short_mwh": a.short_mwh,
        }
    return {}


# ------------------------------------------------------------------------------------------------ trends and targets
#: The tiles with a trend (a sparkline of the KPI's daily value over the month up to the chosen day): every numeric
#: day tile of the overview and the asset page.
SPARK_TILES = {
    "overview": ("bestof_mwh", "latest_forecast_mwh", "tradeable_forecast_mwh", "revenue_eur", "vwap_eur_per_mwh",
                 "market_vwap_eur_per_mwh", "imbalance_cost_eur", "margin_complete_eur", "tradeable_mae_pct_capacity"),
    "asset": ("margin_eur", "trading_revenue_eur", "payout_eur_est", "fee_eur_est", "imbalance_cost_eur", "market_value_eur",
              "bestof_mwh", "latest_forecast_mwh", "tradeable_forecast_mwh", "capture_price_eur_per_mwh", "capture_rate",
              "tradeable_mae_mwh", "tradeable_bias_mwh", "latest_mae_mwh", "latest_bias_mwh", "imbalance_mwh", "long_mwh",
              "short_mwh", "imbalance_cost_eur_per_mwh"),
}
#: The tiles that show a target: tile -> the KPI whose target it shows.
TARGET_TILES = {
    "overview": {"tradeable_mae_pct_capacity": "tradeable_mae_pct_capacity",
                 "mtd_tradeable_mae_pct_capacity": "tradeable_mae_pct_capacity"},
    "asset": {"tradeable_mae_mwh": "tradeable_mae_pct_capacity", "mtd_tradeable_mae_pct_capacity": "tradeable_mae_pct_capacity"},
}
TARGETS_FILE = PROJECT_ROOT / "flexpower_dagster" / "defs" / "reporting" / "kpi_targets.toml"


def expected_sparklines(e: Expected, visit_name: str, asset: str | None) -> dict[str, dict[str, float]]:
    """tile -> {day key: value}: the tile's figure on each day of the month up to the day (independent SQL per day,
    the same as the tile's own expectation), days without a value left out (a gap, never 0)."""
    tiles = SPARK_TILES.get(visit_name, ())
    out: dict[str, dict[str, float]] = {t: {} for t in tiles}
    for d in e.trend_days(asset if visit_name == "asset" else None):
        figures = expected_tiles(Expected(e.path, d.isoformat()), visit_name, asset)
        for t in tiles:
            if figures[t] is not None and pd.notna(figures[t]):
                out[t][d.isoformat()] = float(figures[t])
    return {t: points for t, points in out.items() if points}


def expected_targets(e: Expected, visit_name: str, asset: str | None) -> dict[str, dict]:
    """tile -> the target it must show (read from the TOML file, not through the loader) and whether the warehouse
    value meets it. A KPI without an entry in the file must show none."""
    import tomllib

    config = tomllib.loads(TARGETS_FILE.read_text())
    out = {}
    for tile, kpi in TARGET_TILES.get(visit_name, {}).items():
        if kpi not in config:
            continue
        if visit_name == "overview":
            value = e.portfolio_mae_pct(e.month_start if tile.startswith("mtd_") else e.day)
        else:
            capacity = e.one("SELECT min(capacity_mw) FROM marts.contracts_in_force WHERE delivery_day = ? AND asset_id = ?",
                             [e.day, asset])
            value = 100 * e.asset_accuracy(asset)["tradeable_mae_mwh"] / (capacity * 0.25)  # the month is one day here
            if tile.startswith("mtd_"):
                assert e.trend_days(asset) == [e.day], "the month-to-date accuracy expectation covers one day"
        (bound, target), = [(b, config[kpi][b]) for b in ("at_most", "at_least") if b in config[kpi]]
        met = None if value is None or pd.isna(value) else (value <= target if bound == "at_most" else value >= target)
        number = f"{target:,.1f}".translate(str.maketrans(",.", ".,"))
        out[tile] = {"kpi": kpi, "target": float(target), "met": "unknown" if met is None else str(met).lower(),
                     "text": f"Target {'≤' if bound == 'at_most' else '≥'} {number} % of capacity: "
                             + ("no value" if met is None else "✓ met" if met else "✗ not met")}
    return out


# ------------------------------------------------------------------------------------------------ tables registry
def expected_tables(e: Expected, visit_name: str) -> dict[str, tuple[dict, dict]]:
    """table name -> ({row label: {column title: value}}, {column title: total})."""
    money = {"Revenue alloc. (EUR)": "revenue_eur", "Payout est. (EUR)": "payout_eur",
             "Fee est. (EUR)": "fee_eur", "Imbalance cost (EUR)": "cost_eur", "Market value (EUR)": "market_value_eur",
             "Best-of-infeed (MWh)": "bestof_mwh"}
    out = {}
    if visit_name == "overview":
        # the margin column: only over complete asset-days ("-" for an asset without one), total = their sum
        for name, month, title in (("asset_mtd", True, "Margin est., complete days (EUR)"),
                                   ("asset_day", False, "Margin est., complete (EUR)")):
            f = e.asset_figures(through_month=month)
            complete = e.margin_complete(through_month=month)
            f = f.assign(margin_complete_eur=complete["per_asset"].reindex(f.index))
            cols = {title: "margin_complete_eur", **money}
            rows = {a: {t: (None if pd.isna(r[c]) else r[c]) for t, c in cols.items()} for a, r in f.iterrows()}
            totals = {t: f[c].sum() for t, c in cols.items()}  # a missing value adds nothing
            out[name] = (rows, totals)
    if visit_name == "imbalance":
        f = e.asset_figures(through_month=False)
        cols = {"Cost (EUR)": "cost_eur", "Cost of long QHs (EUR)": "long_cost_eur", "Cost of short QHs (EUR)": "short_cost_eur",
                "Net (MWh)": "imbalance_mwh", "Long (MWh)": "long_mwh", "Short (MWh)": "short_mwh"}
        out["per_asset"] = ({a: {t: r[c] for t, c in cols.items()} for a, r in f.iterrows()},
                            {t: f[c].sum() for t, c in cols.items()})
    if visit_name == "invoices":
        inv = e.q("SELECT asset_id, gross_eur, net_eur, vat_eur FROM marts.invoices", [])  # one month: one per asset
        cols = {"Gross (EUR)": "gross_eur", "Net (EUR)": "net_eur", "VAT (EUR)": "vat_eur"}
        out["invoices"] = ({r.asset_id: {t: getattr(r, c) for t, c in cols.items()} for r in inv.itertuples()},
                           {t: inv[c].sum() for t, c in cols.items()})
    return out


def check_table(v: PageVisit, name: str, rows: dict, totals: dict) -> None:
    table = v.table(name)
    assert table is not None, f"table {name} not on the page"
    heads = table["heads"]
    by_label = {r[0]: r for r in table["rows"]}
    assert set(rows) <= set(by_label), f"{name}: rows {sorted(by_label)} lack {sorted(set(rows) - set(by_label))}"
    for label, cells in rows.items():
        for title, value in cells.items():
            assert_shown(by_label[label][heads.index(title)], value, f"{name}/{label}/{title}")
    total = table["rows"][-1]
    assert total[0] in ("Σ assets", "Total", "Day"), f"{name}: no total row (last row {total})"
    for title, value in totals.items():
        assert_shown(total[heads.index(title)], value, f"{name}/total/{title}")


# ------------------------------------------------------------------------------------------------ tests
def test_build_is_clean_with_one_asset_page(built_site):
    """The shipped site: no query error, exactly the six pages (one asset page however many assets), no test page."""
    assert built_site.result.returncode == 0, built_site.result.log[-3000:]
    assert built_site.errors == [], [str(e) for e in built_site.errors]
    assert set(list_pages(built_site.build)) == SITE_PAGES
    assert not (built_site.build / BROKEN_PAGE).exists()
    assert "Broken on purpose" not in (built_site.build / "index.html").read_text()


def test_build_check_names_only_the_broken_page(broken_site):
    # Evidence's build succeeded (exit 0) although one page query is broken ...
    assert broken_site.result.returncode == 0, broken_site.result.log[-3000:]
    # ... the check finds exactly that page and the error.
    assert {e.page.strip("/") for e in broken_site.errors} == {BROKEN_PAGE}, [str(e) for e in broken_site.errors]
    assert any("no_such_column" in e.error for e in broken_site.errors), [str(e) for e in broken_site.errors]


def test_the_broken_build_is_recorded_from_these_pages_with_the_pinned_evidence(broken_site):
    """The recording stands for a build of today's test pages by today's Evidence: re-record (``make
    record-broken-build``) after changing either."""
    import json

    from report_support import MINIMAL_INDEX_MD, REPORTS

    pages = broken_site.project / "pages"
    assert {p.name: p.read_text() for p in pages.iterdir()} == {"index.md": MINIMAL_INDEX_MD, f"{BROKEN_PAGE}.md": BROKEN_PAGE_MD}
    recorded = json.loads((Path(__file__).parent / "broken_build" / "result.json").read_text())
    pinned = json.loads((REPORTS / "package-lock.json").read_text())["packages"]["node_modules/@evidence-dev/evidence"]["version"]
    assert recorded["evidence"] == pinned, "Evidence was upgraded: make record-broken-build"
    assert "Error in Query" in broken_site.result.log  # the recorded log is Evidence's own


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(VISITS))
def test_page_shows_the_warehouse(built_site, expected, visit, name, width):
    path, page, asset = VISITS[name]
    v = visit(width)
    v.open(path)
    body = v.body()
    assert "Error in Query" not in body and "Binder Error" not in body and "Dataset is empty" not in body
    assert not NEGATIVE_ZERO.search(body), f"negative zero shown: {NEGATIVE_ZERO.search(body).group(0)!r}"
    width_px = v.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width_px[0] <= width_px[1], f"{name} is {width_px[0]} px wide at {width_px[1]} px"

    # every chart on the page, against independent SQL
    shown = v.charts()
    want = expected.charts(page, asset)
    assert set(shown) == set(want), f"charts on {name}: {sorted(shown)}, with an expectation: {sorted(want)}"
    for chart, data in want.items():
        series = shown[chart]["series"]
        points: dict = {}
        for s in series:
            key_name = s["name"] if len(series) > 1 or any(k[1] is not None for k in data) else None
            for x, y in s["points"]:
                if y is None or (y == 0 and (x, key_name) not in data):
                    continue  # no value, or the 0 a stacked chart fills in for a series absent at x
                assert (x, key_name) not in points, f"{chart}: two values for {x} / {key_name} (drawn on top of each other)"
                points[(x, key_name)] = y
        assert set(points) == set(data), (
            f"{chart}: points only in the chart {sorted(set(points) - set(data))[:5]}, "
            f"only in the warehouse {sorted(set(data) - set(points))[:5]}")
        for key, value in data.items():
            assert points[key] == pytest.approx(value, rel=1e-9, abs=1e-6), f"{chart} {key}"
        # a legend on every multi-series chart, naming its series in the chart's colours
        names = {s["name"] for s in series}
        if len(names) > 1 or any(k[1] is not None for k in data):
            legend = dict(shown[chart]["legend"])
            assert names <= set(legend), f"{chart}: series {names} not all in the legend {sorted(legend)}"
            for s in series:
                assert s["color"] and _rgb(s["color"]) == legend[s["name"]], f"{chart}: colour of {s['name']}"
        if len(names) > 1:
            colors = [s["color"] for s in series]
            assert len(set(colors)) == len(colors), f"{chart}: two series share a colour {colors}"

    # every KPI tile
    tiles = expected_tiles(expected, name, asset)
    tiles.pop("_perf_consistency", None)
    assert set(v.kpi_names()) == set(tiles), f"tiles on {name}: {sorted(v.kpi_names())} vs {sorted(tiles)}"
    for tile, value in tiles.items():
        text = v.tile(tile)
        if isinstance(value, str):
            assert text == value, f"{tile}: {text!r} != {value!r}"
        else:
            assert_shown(text, value, f"{name}/{tile}")

    # every sparkline: the tile's daily values over the month up to the day, as independent SQL computes them per day
    want_sparks = expected_sparklines(expected, name, asset)
    sparks = v.sparklines(expect=len(want_sparks))
    assert set(sparks) == set(want_sparks), f"sparklines on {name}: {sorted(sparks)} vs {sorted(want_sparks)}"
    for tile, points in want_sparks.items():
        assert set(sparks[tile]) == set(points), f"{name}/{tile}: days {sorted(sparks[tile])} vs {sorted(points)}"
        for day, value in points.items():
            assert sparks[tile][day] == pytest.approx(value, rel=1e-9, abs=1e-9), f"{name}/{tile} {day}"
    # the targets beside their tiles (where the configuration has one; nowhere else) and met / not met
    want_targets = expected_targets(expected, name, asset)
    assert v.targets(expect=len(want_targets)) == want_targets

    for table, (rows, totals) in expected_tables(expected, name).items():
        check_table(v, table, rows, totals)
    v.screenshot(f"{name}" if width == "desktop" else f"{name}-phone")
    v.assert_clean()


def test_invoice_chart_adds_up_the_invoices_of_a_status(expected, visit):
    """The reported bug: four provisional invoices drawn on top of each other (bar = the largest invoice)."""
    v = visit()
    v.open("/invoices/")
    series = {s["name"]: s["points"] for s in v.charts()["gross_by_status"]["series"]}
    provisional = expected.one("SELECT sum(gross_eur) FROM marts.invoices WHERE status = 'provisional'", [])
    largest = expected.one("SELECT max(gross_eur) FROM marts.invoices WHERE status = 'provisional'", [])
    n = expected.one("SELECT count(*) FROM marts.invoices WHERE status = 'provisional'", [])
    assert n >= 2 and provisional > largest
    assert [y for _, y in series["provisional"] if y is not None] == [pytest.approx(provisional, abs=1e-6)]
    v.assert_clean()


def test_invoice_pdf_links_only_where_a_pdf_exists(built_site, visit):
    """A blocked invoice has no document: its row says "-", the others link their PDF (copied into the site)."""
    v = visit()
    v.open("/invoices/")
    table = v.table("invoices")
    pdf = table["heads"].index("PDF")
    cells = {r[0]: r[pdf] for r in table["rows"][:-1]}
    assert cells.pop(BLOCKED_ASSET) == "-"
    assert set(cells.values()) == {"PDF"} and len(cells) == 4
    href = v.page.locator('[data-table="invoices"] .scrollbox a:visible', has_text="PDF").first.get_attribute("href")
    assert href.endswith(".pdf") and (built_site.build / href.lstrip("/")).exists()
    v.assert_clean()


def test_blocked_invoice_margin_has_a_visible_caveat(visit):
    v = visit()
    v.open(f"/asset/?asset={BLOCKED_ASSET}&day={D}")
    caveat = v.page.locator('[data-caveat="asset-margin"]').inner_text()
    assert "invoice blocked" in caveat and "payout not estimable" in caveat
    assert "invoice is blocked" in v.page.locator('[data-caveat="contract"]').inner_text()
    assert "Why a small net imbalance can cost a lot" in v.page.locator('[data-explain="imbalance-sign"]').inner_text()
    v.open(f"/?day={D}")
    assert BLOCKED_ASSET in v.page.locator('[data-caveat="day-margin"]').inner_text()
    v.assert_clean()


def test_alerts_page_groups_by_cause_and_links_dagster(built_site, expected, visit):
    """One table per cause (late files, failed runs, blocked invoices, data quality), the files actually late before
    "nothing arrived since"; every alert with a Dagster path links it in the UI (a real link, visible at 1440 px)."""
    v = visit()
    v.open("/alerts/")
    open_alerts = v.page.locator('[data-alerts="open"]').inner_text()
    assert "dso_final_production of 2025-06-08 for asset WND-DE-001" in open_alerts
    assert "Invoice 2025-06-CON1_WND-DE-003 of contract CON1_WND-DE-003" in open_alerts
    assert "Days covered" in open_alerts and "late dso_final_production WND-DE-001 2025-06-08" in open_alerts
    # grouped by cause, in this order, each group holding exactly the open alerts of its kind
    kinds = expected.q("SELECT kind, count(*) AS n FROM marts.alerts WHERE status = 'open' GROUP BY 1", [])
    order = ["late_data", "run_failure", "blocked_invoice", "data_quality"]
    tables = v.page.eval_on_selector_all('[data-alerts="open"] [data-table^="alerts-"]', "els => els.map(e => e.dataset.table)")
    assert tables == [f"alerts-{k}" for k in order if k in set(kinds.kind)]
    for r in kinds.itertuples():
        rows = v.table(f"alerts-{r.kind}")["rows"]
        assert len(rows) == r.n, f"{r.kind}: {len(rows)} rows, {r.n} open alerts"
    late = [row[0] for row in v.table("alerts-late_data")["rows"]]
    assert late.index("late dso_final_production WND-DE-001 2025-06-08") < late.index("nothing arrived after 2025-06-08")
    # links: the UI URL + the alert's path, a visible anchor inside the page at 1440 px
    links = expected.q("SELECT title, link FROM marts.alerts WHERE status = 'open' AND link IS NOT NULL", [])
    assert len(links) >= 3
    ui = "http://127.0.0.1:3000"  # the snapshot's default ui_url (Settings.ui_url)
    for r in links.itertuples():
        row = v.page.locator('[data-alerts="open"] .scrollbox tr:visible').filter(has_text=r.title).first
        anchor = row.locator("a").first
        assert anchor.get_attribute("href") == ui + r.link, r.title
        box = anchor.bounding_box()
        assert box and box["width"] > 0 and box["x"] + box["width"] <= 1440, f"{r.title}: link cut off {box}"
    assert "WND-DE-001" in v.page.locator('[data-table="incomplete-days"]').inner_text()
    v.assert_clean()


def test_selection_is_in_the_url_and_carries_across_pages(built_site, visit):
    v = visit()
    v.open("/")
    params = parse_qs(urlparse(v.page.url).query)
    assert params["month"] == [D[:7]] and params["day"] == [D]  # the default selection is written to the URL
    # a sidebar link takes the selection along
    v.page.get_by_role("link", name="Trading", exact=True).first.click()
    v.page.wait_for_url(re.compile(r"/trading/"))
    v.settle()
    assert parse_qs(urlparse(v.page.url).query)["day"] == [D]
    assert v.page.locator('[data-picker="day"]').input_value() == D
    # the overview's asset table links to the asset page with the asset and the day
    v.open(f"/?day={D}")
    v.page.locator('[data-table="asset_day"] .scrollbox tr:visible').filter(has_text=OTHER_ASSET).first.click()
    v.page.wait_for_url(re.compile(r"/asset/"))
    v.settle()
    params = parse_qs(urlparse(v.page.url).query)
    assert params["asset"] == [OTHER_ASSET] and params["day"] == [D]
    assert v.page.locator("[data-asset-title]").inner_text().strip() == OTHER_ASSET
    v.assert_clean()


def test_asset_page_follows_its_asset_picker(expected, visit):
    v = visit()
    v.open(f"/asset/?asset={BLOCKED_ASSET}&day={D}")
    v.page.select_option('[data-picker="asset"]', OTHER_ASSET)
    v.settle()
    assert parse_qs(urlparse(v.page.url).query)["asset"] == [OTHER_ASSET]
    assert v.page.locator("[data-asset-title]").inner_text().strip() == OTHER_ASSET
    day = expected.asset_figures(through_month=False).loc[OTHER_ASSET]
    assert_shown(v.tile("bestof_mwh"), day.bestof_mwh, "bestof_mwh after switching asset")
    assert_shown(v.tile("margin_eur"), expected.margin_complete(through_month=False)["per_asset"][OTHER_ASSET],
                 "margin after switching asset")
    assert v.page.locator('[data-caveat="contract"]').count() == 0  # WND-DE-002's terms are valid
    v.assert_clean()


def test_asset_sidebar_link_and_the_asset_page_without_parameters(built_site, visit):
    v = visit()
    v.open("/")
    v.page.get_by_role("link", name="Asset", exact=True).first.click()
    v.page.wait_for_url(re.compile(r"/asset/"))
    v.settle()
    assert v.page.locator("[data-asset-title]").inner_text().strip() == "SOL-DE-001"  # the first asset
    assert parse_qs(urlparse(v.page.url).query)["asset"] == ["SOL-DE-001"]
    v.assert_clean()


def test_page_queries_read_per_qh_tables_one_day_at_a_time():
    """Scale: no page ships per-QH data of every day (and the asset page not of every asset) to the browser."""
    from flexpower_dagster.defs.reporting.site import query_pages

    pages = PROJECT_ROOT / "reports" / "pages"
    blocks = re.findall(r"```sql (\w+)\n(.*?)```", "".join(p.read_text() for p in sorted(pages.glob("*.md"))), re.S)
    where = query_pages(pages)
    checked = 0
    for name, sql in blocks:
        for table in re.findall(r"warehouse\.(asset_qh|portfolio_qh|source_qh)\b", sql):
            checked += 1
            assert "day_key = '${sel(day)}'" in sql, f"{name} reads {table} without a day filter"
            if table == "asset_qh" and where[name] == ["/asset/"]:
                assert "asset_id = '${sel(asset)}'" in sql, f"{name} reads asset_qh without an asset filter"
    assert checked >= 10


def _rgb(hex_color: str) -> str:
    h = hex_color.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i : i + 2], 16) for i in (0, 2, 4)))


# ------------------------------------------------------------------------------------------------ Dagster asset
def _fake_run(build_src: Path):
    def run(reports_dir, **_kwargs) -> BuildResult:
        import shutil

        shutil.rmtree(Path(reports_dir) / "build", ignore_errors=True)
        shutil.copytree(build_src, Path(reports_dir) / "build")
        return BuildResult(returncode=0, seconds=1.5, log="ok", max_rss_mb=1.0, steps={"sources": 0.5, "build": 1.0})

    return run


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "broken-page"])
def test_report_site_asset(built_site, broken_site, tmp_path, monkeypatch, broken):
    """The Dagster asset around the shared builds (Evidence itself is replaced by a copy of a build)."""
    project = tmp_path / "reports"
    (project / "node_modules" / ".bin").mkdir(parents=True)
    (project / "node_modules" / ".bin" / "evidence").write_text("")
    (project / "pages").mkdir()
    for page in (broken_site if broken else built_site).project.joinpath("pages").glob("*.md"):
        (project / "pages" / page.name).write_text(page.read_text())
    monkeypatch.setattr(report_assets, "run_evidence", _fake_run((broken_site if broken else built_site).build))
    published = project / "build"
    published.mkdir()
    (published / "stale.html").write_text("a page of an earlier build")
    result = dg.materialize(
        [report_assets.report_site],
        # the site reads the read-only warehouse snapshot, never the live file (docs/automation.md, "Concurrency")
        resources={"snapshot": WarehouseSnapshot(path=str(built_site.warehouse)), "data_dir": DataDir(root=str(tmp_path)),
                   "alerting": Alerting(ui_url="http://dagster.example:3000")},
        run_config={"ops": {"report_site": {"config": {"reports_dir": str(project)}}}},
        raise_on_error=False,
    )
    if broken:
        assert not result.success
        failure = result.get_step_failure_events()[0].step_failure_data.error
        assert BROKEN_PAGE in failure.message and "no_such_column" in failure.message
        # all or nothing: the failed build published nothing, the earlier site is served unchanged
        assert [p.name for p in published.iterdir()] == ["stale.html"]
    else:
        assert result.success
        md = result.asset_materializations_for_node("report_site")[0].metadata
        assert md["page (count)"].value == len(list_pages(project / "build")) == len(SITE_PAGES)
        assert md["build (s)"].value == 1.5
        assert md["last_day"].value == SAMPLE_DAY
        assert (project / ".snapshot" / "flexpower_report.duckdb").exists()
        assert not (published / "stale.html").exists()  # no file of an earlier build survives
        assert not (project / ".snapshot" / "work").exists()


def test_check_build_reads_the_log_too(tmp_path):
    (tmp_path / "index.html").write_text("<html><body>fine</body></html>")
    log = "trades | Error in Query! Binder Error: Referenced column \"x\" not found"
    errors = check_build(BuildResult(0, 1.0, log, 1.0), tmp_path)
    assert len(errors) == 1 and "Binder Error" in errors[0].error
    assert check_build(BuildResult(0, 1.0, "all good", 1.0), tmp_path) == []


def test_publish_build_replaces_the_whole_site(tmp_path):
    published, built = tmp_path / "site", tmp_path / "work" / "build"
    (published / "old-page").mkdir(parents=True)
    (published / "old-page" / "index.html").write_text("old")
    (published / "index.html").write_text("old home")
    built.mkdir(parents=True)
    (built / "index.html").write_text("new home")
    publish_build(built, published)
    assert sorted(p.relative_to(published).as_posix() for p in published.rglob("*")) == ["index.html"]
    assert (published / "index.html").read_text() == "new home"
    # no retired tree left; the publish lock (lib/paths.site_lock, shared with the desk file's writer) stays
    assert not built.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".site.publish.lock"]


# ------------------------------------------------------------------------------------------------ issue 26
def test_margin_is_over_complete_assets_with_the_left_out_named(expected, visit):
    """The portfolio margin tiles add up only the assets whose figures are complete (independent SQL); the assets
    left out are named beside them with the reason, on the overview (month and day) and the asset page."""
    month, day = expected.margin_complete(through_month=True), expected.margin_complete(through_month=False)
    assert BLOCKED_ASSET in month["left_out"] and BLOCKED_ASSET in day["left_out"]
    v = visit()
    v.open(f"/?day={D}")
    assert_shown(v.tile("mtd_margin_complete_eur"), month["total"], "month margin over complete assets")
    assert_shown(v.tile("margin_complete_eur"), day["total"], "day margin over complete assets")
    left_out = v.page.locator('[data-margin-excluded="month"]').inner_text()
    for asset, n in month["left_out"].items():
        assert f"{asset} ({n} of" in left_out and "invoice blocked" in left_out, left_out
    day_left_out = v.page.locator('[data-margin-excluded="day"]').inner_text()
    assert set(re.findall(r"[A-Z]{3}-DE-\d{3}(?=:)", day_left_out)) == set(day["left_out"])
    # the month's tiles say there is no previous month instead of showing nothing
    for tile in ("mtd_bestof_mwh", "mtd_revenue_eur", "mtd_imbalance_cost_eur", "mtd_margin_complete_eur"):
        assert "no previous month" in v.page.locator(f'[data-kpi="{tile}"]').inner_text(), tile
    # the asset page: no margin for the blocked asset's day or month, and why
    v.open(f"/asset/?asset={BLOCKED_ASSET}&day={D}")
    assert not re.search(r"\d", v.tile("margin_eur")) and not re.search(r"\d", v.tile("mtd_margin_complete_eur"))
    assert "1 of 1 day(s) left out" in v.page.locator("[data-margin-days]").inner_text()
    v.assert_clean()


def test_unknown_url_values_say_so(visit):
    """A hand-edited or outdated link never silently shows something else: the picker names the unknown value."""
    v = visit()
    v.open("/asset/?asset=NOPE")
    notice = v.page.locator('[data-unknown="asset"]').inner_text()
    assert "NOPE" in notice and "SOL-DE-001" in notice
    v.open("/?month=2025-05&day=2025-05-31")
    assert "2025-05" in v.page.locator('[data-unknown="month"]').inner_text()
    assert "2025-05-31" in v.page.locator('[data-unknown="day"]').inner_text()
    v.open(f"/trading/?day={D}&asset=NOPE")
    assert "NOPE" in v.page.locator('[data-unknown="asset"]').inner_text()
    v.open(f"/?day={D}")  # a known value: no notice
    assert v.page.locator("[data-unknown]").count() == 0
    v.assert_clean()


def test_previous_and_next_day(expected, visit):
    """Previous/next day buttons step through the days; at the ends they are disabled. The sample has one delivery
    day (both disabled on the overview) and data-quality results of two days (06-01 for the month's invoices)."""
    v = visit()
    v.open(f"/?day={D}")
    assert v.page.locator('[data-step="previous"]').is_disabled() and v.page.locator('[data-step="next"]').is_disabled()
    v.open(f"/data-quality/?day={D}")
    days = sorted(pd.to_datetime(expected.dq_newest().delivery_day).dt.strftime("%Y-%m-%d").unique())
    assert len(days) >= 2 and days[-1] == D
    assert v.page.locator('[data-step="next"]').is_disabled()
    v.page.locator('[data-step="previous"]').click()
    v.settle()
    assert parse_qs(urlparse(v.page.url).query)["day"] == [days[-2]]
    assert v.page.locator('[data-picker="day"]').input_value() == days[-2]
    v.page.locator('[data-step="next"]').click()
    v.settle()
    assert parse_qs(urlparse(v.page.url).query)["day"] == [D]
    v.assert_clean()


@pytest.mark.parametrize("day", ["2025-06-01", D])
def test_data_quality_failing_entities_of_the_day(expected, visit, day):
    """Per check the entities failing on the chosen day, each with the days it failed in the range (all days with
    results) and "failing since" only for an unbroken run: equal to an independent SQL over the results."""
    days = sorted(pd.to_datetime(expected.dq_newest().delivery_day).dt.date.unique())
    want = expected.dq_failing_on(pd.Timestamp(day).date(), days[0], days[-1])
    assert want, f"nothing fails on {day} in the sample"
    v = visit()
    v.open(f"/data-quality/?day={day}")
    table = v.table("failing-day")
    heads = table["heads"]
    col = {h: heads.index(h) for h in ("Asset", "Check", "Failing entity", "Days failed (range)", "Failing since")}
    shown = {}
    for r in table["rows"]:
        key = (r[col["Asset"]], r[col["Check"]], r[col["Failing entity"]])
        shown.setdefault(key, []).append((int(r[col["Days failed (range)"]]), r[col["Failing since"]]))
    expect = {}
    for (asset, check, _exp, entity), w in want.items():
        since = "-" if w["since"] is None else w["since"].strftime("%d.%m.%Y")
        expect.setdefault((asset, check, entity), []).append((w["days_failed"], since))
    assert {k: sorted(x) for k, x in shown.items()} == {k: sorted(x) for k, x in expect.items()}
    v.assert_clean()


def test_invoices_page_honours_the_asset_parameter(expected, visit):
    v = visit()
    v.open(f"/invoices/?asset={OTHER_ASSET}")
    assert v.page.locator('[data-picker="asset"]').input_value() == OTHER_ASSET
    rows = v.table("invoices")["rows"]
    assert [r[0] for r in rows[:-1]] == [OTHER_ASSET]
    gross = expected.one("SELECT sum(gross_eur) FROM marts.invoices WHERE asset_id = ?", [OTHER_ASSET])
    assert_shown(rows[-1][1], gross, "invoices total for one asset")
    assert {r[0] for r in v.table("lines")["rows"]} == {OTHER_ASSET}
    v.assert_clean()


def test_trades_by_product_shows_bought_sold_and_net(expected, visit):
    want = expected.q("""SELECT product, sum(mwh) FILTER (WHERE side = 'BUY') AS bought, sum(mwh) FILTER (WHERE side = 'SELL') AS sold
        FROM (SELECT product, side, volume_mw * epoch(delivery_end - delivery_start) / 3600.0 AS mwh
              FROM staging.exchange_private_trades WHERE delivery_day = ?) GROUP BY 1""").fillna(0.0)
    v = visit()
    v.open(f"/trading/?day={D}")
    table = v.table("products")
    heads = table["heads"]
    labels = {"hourly": "Hourly", "quarter_hourly": "Quarter-hourly"}
    rows = {r.product: r for r in want.itertuples()}
    by_label = {r[0]: r for r in table["rows"]}
    for product, r in rows.items():
        cells = by_label[labels.get(product, product)]
        assert_shown(cells[heads.index("Bought (MWh)")], r.bought, f"{product} bought")
        assert_shown(cells[heads.index("Sold (MWh)")], r.sold, f"{product} sold")
        assert_shown(cells[heads.index("Net sold (MWh)")], r.sold - r.bought, f"{product} net")
    total = table["rows"][-1]
    assert_shown(total[heads.index("Bought (MWh)")], want.bought.sum(), "total bought")
    assert_shown(total[heads.index("Sold (MWh)")], want.sold.sum(), "total sold")
    assert_shown(total[heads.index("Net sold (MWh)")], want.sold.sum() - want.bought.sum(), "total net")
    v.assert_clean()


def test_invoice_lines_read_as_on_the_pdf(built_site, expected, visit):
    """Every line on the site shows the quantity with its unit, the unit price and the net exactly as its PDF prints
    them (the capacity fee: MW-month x EUR/MW-month, never MWh x a derived EUR/MWh)."""
    import pypdf

    v = visit()
    v.open("/invoices/")
    table = v.table("lines")
    heads = table["heads"]
    i = {h: heads.index(h) for h in ("Asset", "Quantity", "Unit price", "Net (EUR, as on the PDF)", "Invoice")}
    lines = expected.q("SELECT l.invoice_id, i.asset_id, l.line_type, l.quantity, l.quantity_unit, l.unit_price, l.net_eur "
                       "FROM marts.invoice_lines l JOIN marts.invoices i USING (invoice_month, invoice_id)", [])
    assert len(table["rows"]) == len(lines) > 0
    pdf_links = {a.get_attribute("href") for a in v.page.locator('[data-table="invoices"] .scrollbox a', has_text="PDF").all()}
    texts = {}
    for href in pdf_links:
        text = "\n".join(p.extract_text() for p in pypdf.PdfReader(built_site.build / href.lstrip("/")).pages)
        invoice = next(inv for inv in set(lines.invoice_id) if inv in href or inv.split("-", 2)[2] in href)
        texts[invoice] = re.sub(r"\s+", " ", text)
    assert len(texts) == len(pdf_links) >= 4
    checked = 0
    for r in table["rows"]:
        invoice = r[i["Invoice"]]
        quantity, price, net = r[i["Quantity"]], r[i["Unit price"]], r[i["Net (EUR, as on the PDF)"]]
        if invoice in texts:
            pdf = texts[invoice]
            assert f"{quantity} {price} {net}" in pdf or all(x in pdf for x in (quantity, price, net)), (
                f"{invoice}: site {quantity} | {price} | {net} not on the PDF")
            checked += 1
    assert checked >= 6
    # the stored line behind the text: quantity, unit and net as in marts.invoice_lines
    fee = lines[(lines.asset_id == "WND-DE-001") & (lines.line_type == "fee")].iloc[0]
    row = next(r for r in table["rows"] if r[i["Asset"]] == "WND-DE-001" and "MW-month" in r[i["Quantity"]])
    assert fee.quantity_unit == "MW-month" and row[i["Quantity"]] == f"{fee.quantity:g} MW-month"
    assert row[i["Unit price"]] == f"{fee.unit_price:.2f} EUR/MW-month" and row[i["Net (EUR, as on the PDF)"]] == f"{fee.net_eur:,.2f}"
    v.assert_clean()
