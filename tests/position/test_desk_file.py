"""The trading desk's data file (flexpower_dagster/defs/position/desk.py) on the real sample day: its figures equal
an independent SQL over marts.position_qh, it is written atomically, and the position asset rewrites it in the
published site after writing the mart (and writes nothing when no site is published)."""

import json
import shutil
from datetime import datetime

import dagster as dg
import duckdb
import pandas as pd
import pytest

from flexpower_dagster.defs.position.assets import marts_position_qh
from flexpower_dagster.defs.position.desk import DESK_FILE, desk_payload, focus_day, write_desk_file
from flexpower_dagster.lib.dagster.resources import ReportSite

from support import SAMPLE_DAY, resources_for

NOW = datetime(2025, 6, 8, 14, 30, 5)


@pytest.fixture(scope="module")
def payload(sample_warehouse):
    with duckdb.connect(str(sample_warehouse.warehouse), read_only=True) as conn:
        return desk_payload(conn, NOW)


def test_payload_holds_the_position_of_the_open_days(payload, sample_warehouse):
    assert payload["format"] == 1 and payload["generated_at"] == "2025-06-08T14:30:05Z"
    assert payload["days"] == [SAMPLE_DAY] and payload["focus_day"] == SAMPLE_DAY
    day = payload["by_day"][SAMPLE_DAY]
    assert list(day["scopes"]) == ["portfolio", "solar", "wind"]  # portfolio first
    with duckdb.connect(str(sample_warehouse.warehouse), read_only=True) as conn:
        want = conn.execute(
            "SELECT * FROM marts.position_qh WHERE delivery_day = ? ORDER BY scope, delivery_start", [SAMPLE_DAY]
        ).fetchdf()
        daily = conn.execute("SELECT * FROM marts.trading_daily WHERE delivery_day = ?", [SAMPLE_DAY]).fetchdf().iloc[0]
    for scope, rows in want.groupby("scope"):
        block = day["scopes"][scope]
        assert len(block["qh"]["delivery_start"]) == 96 == block["totals"]["qhs"]
        assert block["qh"]["delivery_start"][0] == f"{SAMPLE_DAY}T00:00:00Z"
        for col, decimals in (("open_position_mwh", 3), ("net_sold_mwh", 3), ("expected_imbalance_cost_eur", 2)):
            shown = pd.Series(block["qh"][col], dtype="float64")
            assert shown.isna().tolist() == rows[col].isna().tolist(), (scope, col)
            assert (shown - rows[col].to_numpy()).abs().max(skipna=True) <= 0.5 * 10 ** -decimals + 1e-9, (scope, col)
            total = rows[col].sum() if rows[col].notna().any() else None
            assert block["totals"][col] == (None if total is None else pytest.approx(total, abs=10 ** -decimals))
        assert block["totals"]["qhs_open_unknown"] == int(rows.open_position_mwh.isna().sum())
    assert day["scopes"]["wind"]["totals"]["qhs_open_unknown"] == 6  # the six unattributable QHs (sample-day test)
    assert day["realised_vwap_eur_per_mwh"] == pytest.approx(daily.vwap_eur_per_mwh, abs=0.005)
    assert day["market_vwap_eur_per_mwh"] == pytest.approx(daily.market_vwap_eur_per_mwh, abs=0.005)
    spread = daily.vwap_eur_per_mwh - daily.market_vwap_eur_per_mwh
    assert day["vwap_spread_eur_per_mwh"] == pytest.approx(spread, abs=0.005)
    sources = day["sources"]
    assert sources["private_trades"] == "2025-06-09T00:05:16Z"  # the export time in the trade file's name
    assert sources["forecast"] == want.forecast_version.max().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sources["public_trades"] is not None and sources["imbalance_estimate"] is not None


def test_focus_day_is_the_newest_traded_day():
    days = {"2025-06-08": {"sources": {"private_trades": "x"}}, "2025-06-09": {"sources": {"private_trades": None}},
            "2025-06-10": {"sources": {}}}
    assert focus_day(days) == "2025-06-08"
    days["2025-06-09"]["sources"]["private_trades"] = "y"
    assert focus_day(days) == "2025-06-09"
    assert focus_day({"2025-06-10": {"sources": {}}}) == "2025-06-10"
    assert focus_day({}) is None


def test_write_is_atomic_and_json_strict(tmp_path, payload):
    path = write_desk_file(payload, tmp_path)
    assert path == tmp_path / DESK_FILE and json.loads(path.read_text()) == json.loads(json.dumps(payload))
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    bad = dict(payload, extra=float("nan"))
    assert json.loads(write_desk_file(bad, tmp_path).read_text())["extra"] is None  # no NaN in JSON


def test_an_empty_warehouse_gives_an_empty_file(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as conn:
        out = desk_payload(conn, NOW)
    assert out["days"] == [] and out["focus_day"] is None and out["by_day"] == {}


@pytest.mark.parametrize("published", [True, False], ids=["site", "no-site"])
def test_position_asset_rewrites_the_desk_file(sample_warehouse, tmp_path, published):
    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    site = tmp_path / "site"
    if published:
        site.mkdir()
        (site / "index.html").write_text("the published site")
    resources = resources_for(sample_warehouse.landing_dir, wh, tmp_path / "data") | {
        "site": ReportSite(build_dir=str(site))}
    result = dg.materialize([marts_position_qh], partition_key=SAMPLE_DAY, resources=resources)
    md = result.asset_materializations_for_node("marts__position_qh")[0].metadata
    if not published:
        assert not site.exists() and "desk_file" not in md  # no site: nothing created
        return
    written = json.loads((site / DESK_FILE).read_text())
    assert md["desk_file"].value == str(site / DESK_FILE) and written["days"] == [SAMPLE_DAY]
    age = datetime.now() - datetime.fromisoformat(written["generated_at"].rstrip("Z"))
    assert abs(age.total_seconds()) < 3600 * 14  # the wall clock (UTC) at the write, not a replayed clock
    with duckdb.connect(str(wh), read_only=True) as conn:
        assert written == json.loads(json.dumps(desk_payload(conn, datetime.fromisoformat(written["generated_at"].rstrip("Z")))))
