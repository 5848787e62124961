"""Constants and helpers shared by the report-site fixtures and tests (imported by basename)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from flexpower_dagster.defs.reporting.site import BuildError, BuildResult
from flexpower_dagster.settings import PROJECT_ROOT

SAMPLE_DAY = "2025-06-08"  # the sample landing zone (tests/conftest.py: SAMPLE_DAY)
SAMPLE_MONTH = "2025-06-01"
REPORTS = PROJECT_ROOT / "reports"
CHROMIUM = Path("/usr/bin/chromium")
#: The pages of the site: one asset page whatever the number of assets (the asset is a URL parameter).
SITE_PAGES = {"/", "/asset/", "/trading/", "/imbalance/", "/invoices/", "/data-quality/", "/alerts/", "/desk/"}
#: A test-only page with a broken query. It was built in a separate temporary project (never in the site the
#: browser tests open and screenshot: test pages must never reach a built site), recorded in broken_build/.
BROKEN_PAGE = "zz-broken-query-check"
BROKEN_PAGE_MD = """---
title: Broken on purpose (test)
---

```sql broken_query
select no_such_column from warehouse.portfolio_day
```

<DataTable data={broken_query}/>
"""
MINIMAL_INDEX_MD = """---
title: Build check
---

A page without queries (the broken-query build needs a home page).
"""


@dataclass
class BuiltSite:
    project: Path
    build: Path
    warehouse: Path | None  # None: a recorded build (tests/reporting/broken_build)
    snapshot: Path | None
    result: BuildResult
    errors: list[BuildError]


def copy_built_site(site: BuiltSite, dst: Path) -> Path:
    """A copy of the shared build (for the asset tests, which must not rebuild)."""
    shutil.copytree(site.build, dst)
    return dst


# ------------------------------------------------------------------------------------------------ pages in Chromium
# PageVisit opens a page of the built site (tests/reporting/conftest.py: the ``visit`` fixture) and reads what it shows.
SCREENSHOTS = Path(os.environ.get("FLEXPOWER_SCREENSHOTS_DIR") or PROJECT_ROOT / "build" / "screenshots")
#: The screenshots the README and docs/reports.md show: `make screenshots` refreshes only these in docs/screenshots/
#: (build/screenshots/ gets every page at both widths).
DOCUMENTED = {"overview", "asset", "trading", "imbalance", "invoices", "data-quality", "alerts", "overview-phone"}
NUMBER = re.compile(r"-?\d{1,3}(?:\.\d{3})*(?:,(\d+))?")
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}


def de_number(text: str) -> tuple[float, int]:
    """The first de-DE number in ``text`` and its number of decimals ("1.234,56 MWh" -> (1234.56, 2))."""
    match = NUMBER.search(text)
    assert match, f"no number in {text!r}"
    decimals = len(match.group(1) or "")
    return float(match.group(0).replace(".", "").replace(",", ".")), decimals


def assert_shown(text: str, expected, what: str) -> None:
    """``text`` shows ``expected`` rounded to the decimals it shows; None must show as no number ("-")."""
    if expected is None or (isinstance(expected, float) and expected != expected):
        assert not re.search(r"\d", text), f"{what}: expected no data, shown {text!r}"
        return
    shown, decimals = de_number(text)
    assert abs(shown - float(expected)) <= 0.5 * 10 ** (-decimals) + 1e-9, f"{what}: shown {text!r}, warehouse {expected}"


CHARTS_JS = r"""() => {
  const reg = window[Symbol.for('__evidence-chart-window-debug__')] || {};
  const out = {};
  for (const c of Object.values(reg)) {
    if (c.isDisposed() || !document.body.contains(c.getDom())) continue;
    const box = c.getDom().closest('[data-chart]');
    const name = box ? box.dataset.chart : '(chart without data-chart)';
    const o = c.getOption();
    const swap = ((o.yAxis || [])[0] || {}).type === 'category';
    out[name] = {
      legend: box ? [...box.querySelectorAll('[data-legend] [data-series]')].map(e => [e.dataset.series,
               getComputedStyle(e.querySelector('.fp-swatch')).backgroundColor]) : [],
      series: (o.series || []).map(s => ({name: s.name, color: (s.itemStyle || {}).color || null,
        points: (s.data || []).map(d => { let p = Array.isArray(d) ? d : (d && Array.isArray(d.value) ? d.value : [null, d]);
          let [x, y] = swap ? [p[1], p[0]] : [p[0], p[1]]; if (x instanceof Date) x = x.getTime(); return [x, y]; })}))
    };
  }
  return out;
}"""

TABLE_JS = r"""(name) => { const box = document.querySelector(`[data-table="${name}"]`); if (!box) return null;
  const t = box.querySelector('.scrollbox table');
  const heads = [...t.querySelectorAll('thead tr')].at(-1);
  return {heads: [...heads.querySelectorAll('th')].map(th => th.innerText.replace(/\s+/g, ' ').trim()),
          rows: [...t.querySelectorAll('tr')].filter(tr => !tr.closest('thead'))
                   .map(tr => [...tr.children].map(td => td.innerText.replace(/\s+/g, ' ').trim()))}; }"""

SPARKS_JS = r"""() => Object.fromEntries([...document.querySelectorAll('[data-kpi] [data-spark]')].map(s =>
  [s.closest('[data-kpi]').dataset.kpi, Object.fromEntries([...s.querySelectorAll('[data-spark-point]')].map(
    p => [p.dataset.sparkPoint, +p.dataset.value]))]))"""

TARGETS_JS = r"""() => Object.fromEntries([...document.querySelectorAll('[data-kpi] [data-target]')].map(t =>
  [t.closest('[data-kpi]').dataset.kpi, {kpi: t.dataset.target, target: +t.dataset.targetValue, met: t.dataset.targetMet,
   text: t.innerText.replace(/\s+/g, ' ').trim()}]))"""


class PageVisit:
    """Open one page; record console errors and warnings, page errors and every request not to the site."""

    def __init__(self, browser, site_url: str, width: str = "desktop"):
        self.site = urlparse(site_url)
        w, h = WIDTHS[width]
        self.context = browser.new_context(viewport={"width": w, "height": h}, locale="de-DE")
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.full_reads: list[str] = []
        self.foreign_requests: list[str] = []
        self.data_responses: list[tuple[str, int]] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        self.page.on("request", self._on_request)
        self.page.on("response", lambda r: "/data/" in r.url and r.url.endswith(".parquet")
                     and self.data_responses.append((r.url, r.status)))
        # Nothing may leave the machine: abort (and record) anything not served by our server.
        self.context.route(re.compile(rf"^(?!http://127\.0\.0\.1:{self.site.port}/).*"), self._abort)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)
        elif "full HTTP read" in message.text:
            self.full_reads.append(message.text)

    def _on_request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob"):
            return
        if (url.hostname, url.port) != (self.site.hostname, self.site.port):
            self.foreign_requests.append(request.url)

    def _abort(self, route) -> None:
        if urlparse(route.request.url).scheme in ("data", "blob"):
            route.continue_()
        else:
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(self.site.geturl().rstrip("/") + path, wait_until="networkidle", timeout=90_000)
        self.settle()

    def settle(self) -> None:
        """Wait until every query of the page has answered: no loading skeleton, every chart drawn."""
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function(
            """() => !/Loading/.test(document.querySelector('main')?.innerText ?? 'Loading')
                 && [...document.querySelectorAll('[data-chart]')].every(b => b.querySelector('canvas, svg') || /no data/.test(b.innerText))""",
            timeout=90_000,
        )
        self.page.wait_for_timeout(1200)  # chart animations and the last reactive updates

    def charts(self) -> dict:
        return self.page.evaluate(CHARTS_JS)

    def table(self, name: str) -> dict | None:
        return self.page.evaluate(TABLE_JS, name)

    def tile(self, name: str) -> str:
        tile = self.page.locator(f'[data-kpi="{name}"]').first
        value = tile.locator(".text-xl").first
        return value.inner_text().strip()

    def sparklines(self, expect: int = 0) -> dict[str, dict[str, float]]:
        """tile -> {day key: unrounded value} of the sparkline inside it (components/KpiTrend.svelte), once at least
        ``expect`` are drawn (a trend appears when its query answers, which may be after the charts on a busy machine)."""
        self.wait_for_count("[data-kpi] [data-spark]", expect)
        return self.page.evaluate(SPARKS_JS)

    def targets(self, expect: int = 0) -> dict[str, dict]:
        """tile -> the target shown beside it (components/KpiTarget.svelte): KPI, target, met, text."""
        self.wait_for_count("[data-kpi] [data-target]", expect)
        return self.page.evaluate(TARGETS_JS)

    def wait_for_count(self, selector: str, n: int, timeout: int = 30_000) -> None:
        """Until ``n`` elements match (then the caller compares exactly: too few after the timeout fails there)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if n:
            with contextlib.suppress(PlaywrightTimeout):  # the exact comparison that follows names what is missing
                self.page.wait_for_function("([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, n],
                                            timeout=timeout)

    def kpi_names(self) -> list[str]:
        return self.page.eval_on_selector_all("[data-kpi]", "els => els.map(e => e.dataset.kpi)")

    def body(self) -> str:
        return self.page.inner_text("body")

    def screenshot(self, name: str) -> None:
        if os.environ.get("FLEXPOWER_SCREENSHOTS_DIR") and name not in DOCUMENTED:
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.foreign_requests == [], f"requests left 127.0.0.1: {self.foreign_requests}"
        assert self.full_reads == [], f"data files read in full (no range request): {self.full_reads}"
        assert all(status in (200, 206) for _, status in self.data_responses), self.data_responses

    def close(self) -> None:
        self.context.close()




# ------------------------------------------------------------------------------------------------ expected figures
# What the pages must show, computed independently of the report code: plain SQL over the warehouse marts (never
# the snapshot's report tables), Berlin time with zoneinfo in Python.
#
# Charts are compared as ``{(x, series): y}``: ``x`` is the day label (``08.06.``), the invoice month (``06/2025``),
# a category, or the quarter-hour's Berlin wall-clock time in epoch milliseconds (how the chart holds it); ``series``
# is the series name (None for a single-series chart). One value per (x, series) is exactly what a stacked or grouped
# chart must hold: several rows for one bar segment are drawn on top of each other, not added.



BERLIN = ZoneInfo("Europe/Berlin")
SOURCE_LABELS = {"final": "Final (DSO)", "live": "Live (VPP)", "forecast": "Forecast", "forecast_redispatched": "Redispatched (0)"}
PRICE_LABELS = {"final": "final reBAP", "estimate": "estimate"}
PRODUCT_LABELS = {"hourly": "Hourly", "quarter_hourly": "Quarter-hourly"}


def berlin_ms(ts) -> int:
    """A UTC quarter-hour start as the chart holds it: Berlin wall-clock time as epoch milliseconds."""
    local = pd.Timestamp(ts).tz_localize("UTC").tz_convert(BERLIN).tz_localize(None)
    return int((local - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1))


def day_label(d) -> str:
    return pd.Timestamp(d).strftime("%d.%m.")


class Expected:
    """Independent figures for one delivery day (and its month) of a warehouse."""

    def __init__(self, path: Path, day: str):
        self.path, self.day = path, date.fromisoformat(day)
        self.month_start = self.day.replace(day=1)

    def q(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(sql, params if params is not None else [self.day]).fetchdf()

    def one(self, sql: str, params: list | None = None):
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(sql, params if params is not None else [self.day]).fetchone()[0]

    def month_days(self) -> list[date]:
        df = self.q(
            "SELECT DISTINCT delivery_day FROM marts.portfolio_best_of_infeed WHERE delivery_day >= ? AND delivery_day <= ? "
            "ORDER BY 1", [self.month_start, self.day])
        return [d.date() for d in pd.to_datetime(df.delivery_day)]

    # ------------------------------------------------------------------------------------------ portfolio
    def portfolio_days(self) -> pd.DataFrame:
        """Per day of the month through the day: revenue, VWAPs (with volumes), energy, netted imbalance, payout
        and fee estimates (the performance mart), margin over the known parts."""
        return self.q("""
            WITH d AS (SELECT DISTINCT delivery_day FROM marts.portfolio_best_of_infeed WHERE delivery_day >= ? AND delivery_day <= ?)
            SELECT d.delivery_day,
                (SELECT sum(mwh) FROM marts.portfolio_best_of_infeed b WHERE b.delivery_day = d.delivery_day) AS bestof_mwh,
                (SELECT sum(latest_mw) * 0.25 FROM marts.portfolio_forecast f WHERE f.delivery_day = d.delivery_day) AS latest_mwh,
                (SELECT sum(tradeable_mw) * 0.25 FROM marts.portfolio_forecast f WHERE f.delivery_day = d.delivery_day) AS tradeable_mwh,
                t.revenue_eur, t.vwap_eur_per_mwh, t.market_vwap_eur_per_mwh, t.bought_mwh + t.sold_mwh AS volume_mwh,
                t.market_volume_mwh, t.n_trades, t.net_volume_mwh,
                (SELECT sum(cost_eur) FROM marts.portfolio_imbalance p WHERE p.delivery_day = d.delivery_day) AS cost_eur,
                (SELECT sum(imbalance_mwh) FROM marts.portfolio_imbalance p WHERE p.delivery_day = d.delivery_day) AS imbalance_mwh,
                (SELECT sum(sum_of_asset_costs_eur) FROM marts.portfolio_imbalance p WHERE p.delivery_day = d.delivery_day) AS asset_costs_eur,
                (SELECT sum(payout_eur_est) FROM marts.asset_performance a WHERE a.delivery_day = d.delivery_day) AS payout_eur,
                (SELECT sum(fee_eur_est) FROM marts.asset_performance a WHERE a.delivery_day = d.delivery_day) AS fee_eur
            FROM d LEFT JOIN marts.trading_daily t USING (delivery_day) ORDER BY 1""", [self.month_start, self.day]).assign(
            margin_eur=lambda f: f.revenue_eur.fillna(0) - f.payout_eur.fillna(0) + f.fee_eur.fillna(0) - f.cost_eur.fillna(0)
        )

    # ------------------------------------------------------------------------------------------ margin over complete figures
    def complete_asset_days(self, first: date, last: date) -> pd.DataFrame:
        """Per asset and day from ``first`` to ``last``: the margin recomputed from the base marts (asset_figures)
        and whether the asset-day's figures are complete (``marts.asset_performance.margin_complete``)."""
        days = self.q("SELECT DISTINCT delivery_day FROM marts.asset_performance WHERE delivery_day BETWEEN ? AND ? ORDER BY 1",
                      [first, last])
        frames = []
        for d in pd.to_datetime(days.delivery_day).dt.date:
            one = Expected(self.path, d.isoformat()).asset_figures(through_month=False)
            done = self.q("SELECT asset_id, margin_complete FROM marts.asset_performance WHERE delivery_day = ?", [d])
            frames.append(one.reset_index().merge(done, on="asset_id", how="left").assign(delivery_day=d))
        return pd.concat(frames, ignore_index=True)

    def margin_complete(self, through_month: bool) -> dict:
        """The margin over the complete asset-days: per asset (NaN when none of its days is complete), the sum
        over the complete ones, and the assets left out with their number of incomplete days."""
        f = self.complete_asset_days(self.month_start if through_month else self.day, self.day)
        done = f[f.margin_complete.fillna(False).astype(bool)]
        per_asset = done.groupby("asset_id").margin_eur.sum().reindex(sorted(f.asset_id.unique()))
        left_out = f[~f.margin_complete.fillna(False).astype(bool)].groupby("asset_id").size().to_dict()
        return {"per_asset": per_asset, "total": done.margin_eur.sum() if len(done) else None, "left_out": left_out}

    def month_to_date(self) -> dict[str, float]:
        d = self.portfolio_days()
        return {
            "bestof_mwh": d.bestof_mwh.sum(),
            "revenue_eur": d.revenue_eur.sum(),
            "vwap_eur_per_mwh": (d.vwap_eur_per_mwh * d.volume_mwh).sum() / d.volume_mwh.sum(),
            "market_vwap_eur_per_mwh": (d.market_vwap_eur_per_mwh * d.market_volume_mwh).sum() / d.market_volume_mwh.sum(),
            "imbalance_cost_eur": d.cost_eur.sum(),
            "margin_known_eur": d.margin_eur.sum(),
            "margin_complete_eur": self.margin_complete(through_month=True)["total"],
            "tradeable_mae_pct_capacity": self.portfolio_mae_pct(self.month_start),
        }

    def the_day(self) -> dict[str, float]:
        d = self.portfolio_days()
        r = d[pd.to_datetime(d.delivery_day).dt.date == self.day].iloc[0]
        return {
            "bestof_mwh": r.bestof_mwh, "latest_forecast_mwh": r.latest_mwh, "tradeable_forecast_mwh": r.tradeable_mwh,
            "revenue_eur": r.revenue_eur, "vwap_eur_per_mwh": r.vwap_eur_per_mwh,
            "market_vwap_eur_per_mwh": r.market_vwap_eur_per_mwh, "imbalance_cost_eur": r.cost_eur,
            "margin_known_eur": r.margin_eur, "n_trades": r.n_trades, "net_volume_mwh": r.net_volume_mwh,
            "imbalance_mwh": r.imbalance_mwh, "sum_of_asset_costs_eur": r.asset_costs_eur,
            "netting_benefit_eur": r.asset_costs_eur - r.cost_eur,
            "margin_complete_eur": self.margin_complete(through_month=False)["total"],
            "tradeable_mae_pct_capacity": self.portfolio_mae_pct(self.day),
        }

    def portfolio_mae_pct(self, first: date) -> float | None:
        """The portfolio's forecast accuracy from ``first`` to the day: MAE of the tradeable forecast over the QHs with
        a measured value (final or live), in % of what the assets produce in those QHs at full capacity."""
        return self.one("""
            SELECT 100 * sum(abs(f.tradeable_mwh - b.mwh)) / sum(c.capacity_mw * 0.25)
            FROM marts.best_of_infeed b JOIN marts.asset_forecast f USING (delivery_day, asset_id, delivery_start)
            JOIN (SELECT delivery_day, asset_id, min(capacity_mw) AS capacity_mw FROM marts.contracts_in_force GROUP BY ALL) c
                USING (delivery_day, asset_id)
            WHERE b.delivery_day BETWEEN ? AND ? AND b.source IN ('final', 'live') AND f.tradeable_mwh IS NOT NULL
                AND c.capacity_mw > 0""", [first, self.day])

    def trend_days(self, asset: str | None = None) -> list[date]:
        """The days of the month up to the day that a trend (a tile's sparkline) has: the portfolio's days with a
        forecast, a best-of-infeed or a trading result; an asset's days with a forecast, best-of-infeed or imbalance."""
        if asset is None:
            sql = ("SELECT delivery_day FROM marts.portfolio_best_of_infeed UNION SELECT delivery_day FROM marts.portfolio_forecast "
                   "UNION SELECT delivery_day FROM marts.trading_daily")
            params = [self.month_start, self.day]
        else:
            sql = ("SELECT delivery_day FROM marts.asset_forecast WHERE asset_id = $a UNION SELECT delivery_day FROM "
                   "marts.best_of_infeed WHERE asset_id = $a UNION SELECT delivery_day FROM marts.imbalance WHERE asset_id = $a")
            params = {"a": asset, "first": self.month_start, "last": self.day}
        where = "BETWEEN ? AND ?" if asset is None else "BETWEEN $first AND $last"
        df = self.q(f"SELECT DISTINCT delivery_day FROM ({sql}) WHERE delivery_day {where} ORDER BY 1", params)
        return [d.date() for d in pd.to_datetime(df.delivery_day)]

    def invoices(self) -> dict[str, float]:
        df = self.q("SELECT status, count(*) AS n, sum(gross_eur) AS gross FROM marts.invoices WHERE invoice_month = ? GROUP BY 1",
                    [self.month_start])
        by = {r.status: r for r in df.itertuples()}
        return {f"n_{s}": (int(by[s].n) if s in by else 0) for s in ("final", "provisional", "blocked")} | {
            f"gross_{s}": (float(by[s].gross) if s in by and pd.notna(by[s].gross) else None) for s in ("final", "provisional")}

    # ------------------------------------------------------------------------------------------ per asset
    def asset_figures(self, through_month: bool) -> pd.DataFrame:
        """Per asset, for the day or the month through the day: money recomputed from the base marts (revenue
        allocated by tradeable share, market value, imbalance cost), payout and fee from the performance mart."""
        first = self.month_start if through_month else self.day
        return self.q("""
            WITH b AS (SELECT * FROM marts.best_of_infeed WHERE delivery_day BETWEEN ? AND ?),
            f AS (SELECT * FROM marts.asset_forecast WHERE delivery_day BETWEEN ? AND ?),
            pt AS (SELECT delivery_day, delivery_start, sum(tradeable_mwh) AS pt FROM f GROUP BY ALL),
            t AS (SELECT * FROM marts.trading_qh WHERE delivery_day BETWEEN ? AND ?),
            i AS (SELECT delivery_day, asset_id, delivery_start, imbalance_mwh, cost_eur FROM marts.imbalance WHERE delivery_day BETWEEN ? AND ?),
            qh AS (
                SELECT b.asset_id, b.mwh, t.market_vwap_eur_per_mwh AS vwap, t.revenue_eur, f.tradeable_mwh, pt.pt,
                       i.imbalance_mwh, i.cost_eur
                FROM b LEFT JOIN f USING (delivery_day, asset_id, delivery_start) LEFT JOIN pt USING (delivery_day, delivery_start)
                LEFT JOIN t USING (delivery_day, delivery_start) LEFT JOIN i USING (delivery_day, asset_id, delivery_start)
            ),
            p AS (SELECT asset_id, sum(payout_eur_est) AS payout_eur, sum(fee_eur_est) AS fee_eur
                  FROM marts.asset_performance WHERE delivery_day BETWEEN ? AND ? GROUP BY 1)
            SELECT asset_id, sum(mwh) AS bestof_mwh, sum(mwh * vwap) AS market_value_eur,
                sum(revenue_eur * tradeable_mwh / pt) FILTER (WHERE pt > 0) AS revenue_eur,
                sum(cost_eur) AS cost_eur, sum(imbalance_mwh) AS imbalance_mwh,
                -- no imbalance known (a day without a tradeable forecast): no long or short either, never 0
                CASE WHEN count(imbalance_mwh) > 0 THEN coalesce(sum(imbalance_mwh) FILTER (WHERE imbalance_mwh > 0), 0) END AS long_mwh,
                CASE WHEN count(imbalance_mwh) > 0 THEN -coalesce(sum(imbalance_mwh) FILTER (WHERE imbalance_mwh < 0), 0) END AS short_mwh,
                CASE WHEN count(cost_eur) > 0 THEN coalesce(sum(cost_eur) FILTER (WHERE imbalance_mwh > 0), 0) END AS long_cost_eur,
                CASE WHEN count(cost_eur) > 0 THEN coalesce(sum(cost_eur) FILTER (WHERE imbalance_mwh < 0), 0) END AS short_cost_eur,
                any_value(p.payout_eur) AS payout_eur, any_value(p.fee_eur) AS fee_eur
            FROM qh LEFT JOIN p USING (asset_id) GROUP BY asset_id ORDER BY asset_id""",
            [first, self.day] * 5).assign(
            margin_eur=lambda d: d.revenue_eur.fillna(0) - d.payout_eur.fillna(0) + d.fee_eur.fillna(0) - d.cost_eur.fillna(0)
        ).set_index("asset_id")

    # ------------------------------------------------------------------------------------------ data quality
    def dq_newest(self) -> pd.DataFrame:
        """The newest result per day, asset, check and expectation."""
        return self.q("""SELECT * FROM marts.data_quality_results QUALIFY row_number() OVER (
            PARTITION BY delivery_day, asset_key, check_name, expectation ORDER BY checked_at DESC NULLS LAST) = 1""", [])

    def dq_failing_on(self, day: date, first: date, last: date) -> dict[tuple, dict]:
        """(asset, check, expectation, entity) failing on ``day`` -> days it failed in [first, last] and the day
        since which it failed without a break (None when an earlier failure in the range is outside that run)."""
        r = self.dq_newest()
        r["delivery_day"] = pd.to_datetime(r.delivery_day).dt.date
        fails = {}  # key -> set of failing days
        ran = {}    # (asset, check, expectation) -> days evaluated
        for row in r.itertuples():
            ran.setdefault((row.asset_key, row.check_name, row.expectation), set()).add(row.delivery_day)
            if not row.passed:
                for e in _dq_entities(row.failing_entities):
                    fails.setdefault((row.asset_key, row.check_name, row.expectation, e), set()).add(row.delivery_day)
        out = {}
        for key, failed_days in fails.items():
            if day not in failed_days:
                continue
            evaluated = sorted(ran[key[:3]])
            start = day
            for d in reversed([d for d in evaluated if d < day]):
                if d not in failed_days:
                    break
                start = d
            in_range = sorted(d for d in failed_days if first <= d <= last)
            out[key] = {"days_failed": len(in_range), "since": start if in_range[0] >= start else None}
        return out

    def asset_accuracy(self, asset: str) -> dict[str, float]:
        return self.q("""
            SELECT avg(abs(f.tradeable_mwh - b.mwh)) AS tradeable_mae_mwh, avg(f.tradeable_mwh - b.mwh) AS tradeable_bias_mwh,
                   avg(abs(f.latest_mwh - b.mwh)) AS latest_mae_mwh, avg(f.latest_mwh - b.mwh) AS latest_bias_mwh
            FROM marts.best_of_infeed b JOIN marts.asset_forecast f USING (delivery_day, asset_id, delivery_start)
            WHERE b.delivery_day = ? AND b.asset_id = ? AND b.source IN ('final', 'live')""", [self.day, asset]).iloc[0].to_dict()

    # ------------------------------------------------------------------------------------------ charts
    def charts(self, page: str, asset: str | None = None) -> dict[str, dict]:
        d = self.day
        days = self.portfolio_days()
        lbl = [day_label(x) for x in days.delivery_day]
        out: dict[str, dict] = {}
        if page == "overview":
            complete = self.complete_asset_days(self.month_start, d)
            complete = complete[complete.margin_complete.fillna(False).astype(bool)].groupby("delivery_day").margin_eur.sum()
            out["month_money"] = {
                **{(x, "Trading revenue"): v for x, v in zip(lbl, days.revenue_eur)},
                **{(x, "Imbalance cost (netted)"): v for x, v in zip(lbl, days.cost_eur)},
                **{(day_label(k), "Margin (complete assets)"): v for k, v in complete.items()},
            }
            out["month_energy"] = {
                **{(x, "Best-of-infeed"): v for x, v in zip(lbl, days.bestof_mwh)},
                **{(x, "Forecast latest"): v for x, v in zip(lbl, days.latest_mwh)},
                **{(x, "Forecast tradeable"): v for x, v in zip(lbl, days.tradeable_mwh)},
            }
            qh = self.q("""SELECT k.delivery_start, b.mw AS bestof, f.latest_mw, f.tradeable_mw
                FROM (SELECT delivery_start FROM marts.portfolio_best_of_infeed WHERE delivery_day = ?
                      UNION SELECT delivery_start FROM marts.portfolio_forecast WHERE delivery_day = ?) k
                LEFT JOIN (SELECT * FROM marts.portfolio_best_of_infeed WHERE delivery_day = ?) b USING (delivery_start)
                LEFT JOIN (SELECT * FROM marts.portfolio_forecast WHERE delivery_day = ?) f USING (delivery_start)""", [d] * 4)
            out["day_lines"] = _qh_series(qh, {"bestof": "Best-of-infeed", "latest_mw": "Forecast latest",
                                               "tradeable_mw": "Forecast tradeable"})
            src = self.q("SELECT delivery_start, source, sum(mwh) AS mwh FROM marts.best_of_infeed "
                         "WHERE delivery_day = ? AND source <> 'missing' GROUP BY ALL")
            out["day_by_source"] = {(berlin_ms(r.delivery_start), SOURCE_LABELS[r.source]): r.mwh for r in src.itertuples()}
        elif page == "asset":
            qh = self.q("""SELECT b.delivery_start, b.mw AS bestof, b.mwh, b.source, f.latest_mw, f.tradeable_mw,
                    i.imbalance_mwh, i.cost_eur, i.price_source
                FROM marts.best_of_infeed b LEFT JOIN marts.asset_forecast f USING (delivery_day, asset_id, delivery_start)
                LEFT JOIN marts.imbalance i USING (delivery_day, asset_id, delivery_start)
                WHERE b.delivery_day = ? AND b.asset_id = ?""", [d, asset])
            out["asset_lines"] = _qh_series(qh, {"bestof": "Best-of-infeed", "latest_mw": "Forecast latest",
                                                 "tradeable_mw": "Forecast tradeable"})
            out["asset_source"] = {(berlin_ms(r.delivery_start), SOURCE_LABELS[r.source]): r.mwh
                                   for r in qh.itertuples() if r.source != "missing"}
            out["asset_imbalance"] = {
                (berlin_ms(r.delivery_start),
                 "Long (produced more than sold)" if r.imbalance_mwh >= 0 else "Short (produced less)"): r.imbalance_mwh
                for r in qh.itertuples() if pd.notna(r.imbalance_mwh)}
            out["asset_imbalance_cost"] = {
                (berlin_ms(r.delivery_start), PRICE_LABELS.get(r.price_source, "no price")): r.cost_eur
                for r in qh.itertuples() if pd.notna(r.cost_eur)}
            money = {}
            days_asset = self.complete_asset_days(self.month_start, d).set_index(["delivery_day", "asset_id"])
            for day in self.month_days():
                one = days_asset.loc[(day, asset)]
                x = day_label(day)
                money |= {(x, "Revenue allocated"): one.revenue_eur, (x, "Payout est."): one.payout_eur,
                          (x, "Imbalance cost"): one.cost_eur,
                          (x, "Margin (complete days)"): one.margin_eur if one.margin_complete else None}
            out["asset_month_money"] = money
        elif page == "trading":
            out["range_revenue"] = {(x, None): v for x, v in zip(lbl, days.revenue_eur)}
            out["range_vwap"] = {
                **{(x, "Private VWAP"): v for x, v in zip(lbl, days.vwap_eur_per_mwh)},
                **{(x, "Market VWAP"): v for x, v in zip(lbl, days.market_vwap_eur_per_mwh)},
            }
            t = self.q("SELECT * FROM marts.trading_qh WHERE delivery_day = ?")
            out["qh_revenue"] = {(berlin_ms(r.delivery_start), None): r.revenue_eur for r in t.itertuples()}
            out["qh_volume"] = {
                **{(berlin_ms(r.delivery_start), "Sold"): r.sold_mwh for r in t.itertuples()},
                **{(berlin_ms(r.delivery_start), "Bought"): -r.bought_mwh for r in t.itertuples()},
            }
            out["qh_vwap"] = _qh_series(t, {"vwap_eur_per_mwh": "Private VWAP", "market_vwap_eur_per_mwh": "Market VWAP"})
            out["qh_spread"] = {(berlin_ms(r.delivery_start), None): r.vwap_eur_per_mwh - r.market_vwap_eur_per_mwh
                                for r in t.itertuples() if pd.notna(r.vwap_eur_per_mwh) and pd.notna(r.market_vwap_eur_per_mwh)}
            p = self.q("SELECT product, side, count(DISTINCT trade_id) AS n FROM staging.exchange_private_trades "
                       "WHERE delivery_day = ? GROUP BY ALL")
            out["products"] = {(PRODUCT_LABELS.get(r.product, r.product), r.side): r.n for r in p.itertuples()}
            if asset:
                money = {}
                for day in self.month_days():
                    one = Expected(self.path, day.isoformat()).asset_figures(through_month=False).loc[asset]
                    money |= {(day_label(day), "Revenue allocated"): one.revenue_eur,
                              (day_label(day), "Market value of production"): one.market_value_eur}
                out["asset_days"] = money
        elif page == "imbalance":
            p = self.q("""SELECT p.delivery_start, p.cost_eur, p.imbalance_mwh,
                    (SELECT count(*) FROM marts.imbalance i WHERE i.delivery_day = p.delivery_day AND i.delivery_start = p.delivery_start
                        AND i.price_source IS NOT NULL AND i.price_source <> 'final') > 0 AS estimated
                FROM marts.portfolio_imbalance p WHERE p.delivery_day = ?""")
            if asset:
                days_cost = {}
                for day in self.month_days():
                    one = Expected(self.path, day.isoformat()).asset_figures(through_month=False).loc[asset]
                    days_cost |= {(day_label(day), "Long QHs"): one.long_cost_eur, (day_label(day), "Short QHs"): one.short_cost_eur}
                out["asset_range_cost"] = days_cost
                qh = self.q("SELECT delivery_start, cost_eur, price_source FROM marts.imbalance WHERE delivery_day = ? AND asset_id = ?",
                            [d, asset])
                out["asset_qh_cost"] = {(berlin_ms(r.delivery_start), PRICE_LABELS.get(r.price_source, "no price")): r.cost_eur
                                        for r in qh.itertuples() if pd.notna(r.cost_eur)}
            else:
                out["range_cost"] = {(x, None): v for x, v in zip(lbl, days.cost_eur)}
                out["qh_cost"] = {
                    (berlin_ms(r.delivery_start),
                     "estimate (final reBAP not published)" if r.estimated else "final reBAP"): r.cost_eur
                    for r in p.itertuples() if pd.notna(r.cost_eur)}
                out["qh_volume"] = {(berlin_ms(r.delivery_start), None): r.imbalance_mwh for r in p.itertuples()
                                    if pd.notna(r.imbalance_mwh)}
        elif page == "invoices":
            inv = self.q("SELECT strftime(invoice_month, '%m/%Y') AS m, status, sum(gross_eur) AS gross FROM marts.invoices "
                         "WHERE gross_eur IS NOT NULL GROUP BY ALL", [])
            out["gross_by_status"] = {(r.m, r.status): r.gross for r in inv.itertuples()}
        elif page == "data-quality":  # the page's default range: every day with results
            dq = self.dq_newest()
            failed = dq[~dq.passed].assign(series=lambda f: f.severity.map(
                lambda v: "Failed, blocking" if v == "blocking" else "Failed, warning"))
            n = failed.groupby(["delivery_day", "series"]).size()
            out["failed_per_day"] = {(day_label(k[0]), k[1]): v for k, v in n.items()}
        return {name: {k: float(v) for k, v in series.items() if v is not None and pd.notna(v)} for name, series in out.items()}


def _dq_entities(text) -> list[str]:
    return [e.strip() for e in str(text).split(",") if e.strip()] if text is not None and str(text).strip() else [
        "(whole table)"]


def _qh_series(frame: pd.DataFrame, columns: dict[str, str]) -> dict:
    return {(berlin_ms(r["delivery_start"]), name): r[col] for _, r in frame.iterrows() for col, name in columns.items()
            if pd.notna(r[col])}
