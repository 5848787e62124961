"""Hostile and unlucky input, each case of the hardening issue on a temporary copy of the sample day:
the safe outcome is asserted (nothing written outside its root, no outside file read, out-of-bound rows
rejected with their rule, a half-written file not used, NULL for no data, no formula cell)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from flexpower_dagster.defs.invoicing.documents import operations_csv
from flexpower_dagster.lib.exports import spreadsheet_cell
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.paths import UnsafePathError, safe_path
from flexpower_dagster.settings import Settings

from support import SAMPLE_DAY, materialize_day, materialize_month, month_inputs, resources_for, staging_asset

CRM = "crm/asset_contracts_20250608_043831.csv"
PRIVATE = "exchange/Private_Trades-20250608-20250609T000516000Z.csv"
LIVE = "vpp/live_measured_infeed/WND01_20250608.json"
FINAL = "distribution_system_operator/final_production_MP-SOL-002_20250609.csv"
#: What the private trade export reaches that the trade tests assert on.
TRADING = ("staging/exchange_private_trades", "staging/exchange_public_trades", "marts/trading_qh", "marts/trading_daily")


@pytest.fixture
def landing(tmp_path, sample_dir) -> Path:
    root = tmp_path / "landing"
    shutil.copytree(sample_dir, root)
    return root


def _settings(tmp_path: Path, landing: Path) -> Settings:
    return Settings(landing_dir=landing, warehouse=tmp_path / "w.duckdb", data_dir=tmp_path / "data")


def _stage(tmp_path: Path, landing: Path, *names: str) -> dg.ExecuteInProcessResult:
    assets = [staging_asset("crm_contracts"), *[staging_asset(n) for n in names if n != "crm_contracts"]]
    return dg.materialize(assets, partition_key=SAMPLE_DAY, resources=resources_for(landing, tmp_path / "w.duckdb"),
                          raise_on_error=False)


def _rejected(tmp_path: Path) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        return conn.execute("SELECT source, file, rule, reason FROM staging.rejected_files ORDER BY file").fetchall()


def _files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# 1 ------------------------------------------------------------------------------------------------

@pytest.mark.slow  # a day and its month
def test_a_contract_id_that_is_a_path_never_becomes_one(tmp_path, landing):
    snapshot = landing / CRM
    lines = snapshot.read_text().splitlines(keepends=True)
    lines.append(lines[1].replace("CON1_SOL-DE-001,SOL-DE-001,MP-SOL-001", "CON9_X/../../../../escaped/pwn,SOL-DE-009,MP-SOL-009"))
    snapshot.write_text("".join(lines))
    before = _files_under(tmp_path)
    settings = _settings(tmp_path, landing)
    # the day's assets the month reads (the contracts among them), then the month: invoice files are named by contract
    materialize_day(settings, SAMPLE_DAY, raise_on_error=False, only=month_inputs())
    materialize_month(settings, SAMPLE_DAY[:8] + "01", raise_on_error=False)
    written = _files_under(tmp_path) - before
    assert not [f for f in written if "pwn" in f or "escaped" in f]
    assert all(f.startswith(("data/", "w.duckdb", "landing/")) for f in written), written
    (row,) = [r for r in _rejected(tmp_path) if r[1] == CRM]
    assert row[2] == "identifier" and "contract_id" in row[3]
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:  # the previous snapshot is used instead
        ids = {r[0] for r in conn.execute("SELECT contract_id FROM marts.contracts_in_force").fetchall()}
    assert ids == {"CON1_SOL-DE-001", "CON1_SOL-DE-002", "CON1_WND-DE-001", "CON1_WND-DE-002", "CON1_WND-DE-003"}


def test_safe_path_refuses_anything_outside_its_root(tmp_path):
    assert safe_path(tmp_path, "invoices", "2025-06", "a.pdf") == tmp_path.resolve() / "invoices/2025-06/a.pdf"
    for parts in (("..", "x"), ("invoices", "../../x"), ("/etc/passwd",), ("a\x00b",)):
        with pytest.raises(UnsafePathError):
            safe_path(tmp_path, *parts)
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(UnsafePathError):
        safe_path(tmp_path, "link", "passwd")


# 2 ------------------------------------------------------------------------------------------------

def test_symbolic_links_in_the_landing_zone_are_never_followed(tmp_path, landing):
    outside = tmp_path / "outside.csv"
    outside.write_text((landing / CRM).read_text().replace(",85.0,", ",850.0,"))
    (landing / "crm" / "asset_contracts_20250608_235959.csv").symlink_to(outside)
    (landing / "crm" / "asset_contracts_20250608_235958.csv").symlink_to("/etc/passwd")
    (landing / "exchange_link").symlink_to(tmp_path)  # a folder link is no landing folder either
    inventory = scan(landing, [staging_asset_spec("crm_contracts")])
    assert {name for name, _ in inventory.refused} == {
        "crm/asset_contracts_20250608_235958.csv", "crm/asset_contracts_20250608_235959.csv"}
    assert _stage(tmp_path, landing).success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        prices = {r[0] for r in conn.execute("SELECT price_eur_per_mwh FROM staging.crm_contracts").fetchall()}
        reasons = " ".join(r[0] for r in conn.execute("SELECT reason FROM staging.rejected_files").fetchall())
    assert 850.0 not in prices and 85.0 in prices
    assert "root:" not in reasons


def staging_asset_spec(name):
    from support import source_spec

    return source_spec(name)


# 3 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("volume", "rule"), [("inf", "non-finite"), ("1e33", "out-of-bounds")])
def test_absurd_trade_volumes_reject_the_export_and_leave_no_revenue(tmp_path, landing, volume, rule):
    path = landing / PRIVATE
    lines = path.read_text().splitlines(keepends=True)
    fields = lines[2].split(";")
    fields[7] = volume
    lines[2] = ";".join(fields)
    path.write_text("".join(lines))
    settings = _settings(tmp_path, landing)
    result = materialize_day(settings, SAMPLE_DAY, raise_on_error=False, only=TRADING)
    assert not result.success  # the blocking completeness check of the private trades
    (row,) = [r for r in _rejected(tmp_path) if r[1] == PRIVATE]
    assert row[2] == rule and "row 3" in row[3]
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM staging.exchange_private_trades").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'trading_daily'").fetchone()[0] == 0


def test_an_absurd_live_sample_rejects_its_file(tmp_path, landing):
    path = landing / LIVE
    doc = json.loads(path.read_text())
    doc["values"][1][5] = 1e30 * 1000  # kW: 1e30 MW
    path.write_text(json.dumps(doc))
    assert _stage(tmp_path, landing, "vpp_live_samples").success
    (row,) = [r for r in _rejected(tmp_path) if r[1] == LIVE]
    assert row[2] == "out-of-bounds"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT max(mw) FROM staging.vpp_live_samples").fetchone()[0] < 10


# 4 ------------------------------------------------------------------------------------------------

def _newer_export(landing: Path, cut) -> Path:
    """A re-delivery of the private trades, exported later, with the content ``cut(text)``."""
    text = (landing / PRIVATE).read_text()
    newer = landing / PRIVATE.replace("20250609T000516000Z", "20250609T010000000Z")
    newer.write_text(cut(text).replace("2025-06-09T00:05:16.000Z", "2025-06-09T01:00:00.000Z", 1))
    return newer


def _revenue(tmp_path: Path) -> float:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        return conn.execute("SELECT sum(volume_mw) FROM staging.exchange_private_trades").fetchone()[0]


def test_a_half_written_export_never_replaces_the_full_one(tmp_path, landing):
    clean = tmp_path / "clean"
    clean.mkdir()
    assert _stage(clean, landing, "exchange_private_trades").success
    full = _revenue(clean)
    # cut one third in, in the middle of a line: rule truncated-file, the full export stays in use
    mid = _newer_export(landing, lambda t: t[: len(t) // 3])
    assert _stage(tmp_path, landing, "exchange_private_trades").success
    assert [r[2] for r in _rejected(tmp_path) if r[1] == mid.relative_to(landing).as_posix()] == ["truncated-file"]
    assert _revenue(tmp_path) == full
    # cut at a line end: a complete-looking but shrunk export is held as suspicious
    mid.unlink()
    held = _newer_export(landing, lambda t: t[: t.index("\n", len(t) // 3) + 1])
    again = tmp_path / "again"
    again.mkdir()
    assert _stage(again, landing, "exchange_private_trades").success
    assert [r[2] for r in _rejected(again) if r[1] == held.relative_to(landing).as_posix()] == ["shrunk-redelivery"]
    assert _revenue(again) == full


def test_a_dso_file_cut_mid_number_is_not_read(tmp_path, landing):
    path = landing / FINAL
    text = path.read_text()
    path.write_text(text[: text.index("457.904") + 2])  # "...,45": a number cut in half, no line end
    assert _stage(tmp_path, landing, "dso_final_production").success
    (row,) = [r for r in _rejected(tmp_path) if r[1] == FINAL]
    assert row[2] == "truncated-file"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM staging.dso_final_production WHERE metering_point_id = 'MP-SOL-002'").fetchone()[0] == 0


def test_a_file_still_being_written_waits(tmp_path, landing):
    spec = staging_asset_spec("exchange_private_trades")
    (landing / "exchange" / "Private_Trades-20250608-20250609T020000000Z.csv.tmp").write_text("# Private")
    fresh = landing / "exchange" / "Private_Trades-20250608-20250609T030000000Z.csv"
    fresh.write_text((landing / PRIVATE).read_text())  # changed just now
    inventory = scan(landing, [spec], settle_seconds=30)
    assert [f.name for f in inventory.files[spec.name]] == [PRIVATE]
    assert sorted(inventory.waiting) == sorted([fresh.relative_to(landing).as_posix(), fresh.relative_to(landing).as_posix()
                                                .replace("030000000Z.csv", "020000000Z.csv.tmp")])
    old = 1_700_000_000
    os.utime(fresh, (old, old))  # unchanged for long enough: complete
    assert fresh.relative_to(landing).as_posix() in [f.name for f in scan(landing, [spec], settle_seconds=30).files[spec.name]]


# 9 ------------------------------------------------------------------------------------------------

def test_spreadsheet_formulas_are_neutralised():
    assert [spreadsheet_cell(v) for v in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "ok", None)] == [
        "'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "ok", ""]
    invoices = pd.DataFrame([{"invoice_id": "2025-06-C1", "contract_id": "C1", "asset_id": "A", "status": "blocked",
                              "email": '=HYPERLINK("http://x","y")', "problems": "malformed email"}])
    text = operations_csv(invoices).decode()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_an_email_with_markup_is_a_contract_problem(tmp_path, landing):
    from flexpower_dagster.defs.crm.terms import contract_problems

    contracts = pd.read_csv(landing / CRM, dtype=str).rename(columns={"capacity": "capacity_mw", "price": "price_eur_per_mwh",
                                                                      "fee": "fee_eur"})
    for bad in ('"Eve" <eve@x.de>', "a=b@x.de", "eve@x.de\nBcc: all@x.de", "(x)@x.de"):
        contracts.loc[0, "email"] = bad
        assert "malformed email" in contract_problems(contracts).iloc[0], bad


# 10 -----------------------------------------------------------------------------------------------

def test_a_missing_column_is_no_data_not_zero(tmp_path, landing):
    path = landing / PRIVATE
    lines = path.read_text().splitlines(keepends=True)
    rows = [";".join(f for i, f in enumerate(line.rstrip("\n").split(";")) if i != 6) + "\n" for line in lines[1:]]
    path.write_text(lines[0] + "".join(rows))  # no Currency column
    settings = _settings(tmp_path, landing)
    result = materialize_day(settings, SAMPLE_DAY, raise_on_error=False, only=TRADING)
    assert not result.success
    assert [r[2] for r in _rejected(tmp_path) if r[1] == PRIVATE] == ["missing-column"]
    # run the trading marts anyway (as someone re-executing them would): no data is NULL, never 0 EUR
    from flexpower_dagster.defs.trading.sql import trading_daily

    daily = trading_daily(pd.DataFrame(), pd.DataFrame(), pd.Timestamp(SAMPLE_DAY).date()).iloc[0]
    assert pd.isna(daily.revenue_eur) and not daily.private_trades_loaded


# 7 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("asset_id", ["../../etc/evil4", "WND-DE-001' OR '1'='1", "a" * 65])
def test_an_odd_asset_id_never_reaches_the_warehouse_or_the_site(tmp_path, landing, asset_id):
    """Asset ids become report URLs and page SQL values: one that is no identifier rejects its file, so the site
    (built from the warehouse) never sees it."""
    forecast = sorted((landing / "vpp" / "forecasts").glob("forecast_WND-DE-001_*"))[-1]
    doc = json.loads(forecast.read_text())
    doc["key"]["asset_id"] = asset_id
    forecast.write_text(json.dumps(doc))
    assert _stage(tmp_path, landing, "vpp_forecasts").success
    rel = forecast.relative_to(landing).as_posix()
    assert [r[2] for r in _rejected(tmp_path) if r[1] == rel] == ["identifier"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        ids = {r[0] for r in conn.execute("SELECT DISTINCT asset_id FROM staging.vpp_forecasts").fetchall()}
    assert ids == {"SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003"}
