"""Missing is never 0: the sample day with its public trades rejected (no market VWAP for the day). Before,
CON1_WND-DE-002 (market price, percent-of-market fee) was invoiced at net 0.00 EUR and e-mailed; now its
June invoice is blocked, naming the missing input and the day, with no totals, no document and no e-mail."""

import shutil

import duckdb
import pytest

from flexpower_dagster.settings import Settings

from support import SAMPLE_DAY, SAMPLE_MONTH, materialize_day, materialize_month, month_inputs

PUBLIC = "exchange/Public_Trades-20250608-20250609T000516000Z.csv"


@pytest.mark.slow  # a day and its month
def test_rejected_public_trades_block_the_market_invoices(tmp_path, sample_dir):
    landing = tmp_path / "landing"
    shutil.copytree(sample_dir, landing)
    (landing / PUBLIC).write_text("this is not the exchange's public trades export\n")
    settings = Settings(landing_dir=landing, warehouse=tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    materialize_day(settings, SAMPLE_DAY, raise_on_error=False, only=month_inputs())  # what the invoices read
    assert materialize_month(settings, SAMPLE_MONTH).success

    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        rejected = conn.execute("SELECT file FROM staging.rejected_files").fetchall()
        n_vwap = conn.execute("SELECT count(market_vwap_eur_per_mwh) FROM marts.trading_qh").fetchone()[0]
        inv = conn.execute("SELECT * FROM marts.invoices ORDER BY invoice_id").fetchdf().set_index("contract_id")
        n_lines = conn.execute("SELECT count(*) FROM marts.invoice_lines WHERE contract_id = 'CON1_WND-DE-002'").fetchone()[0]
    assert any(PUBLIC.split("/")[1] in f for (f,) in rejected) and n_vwap == 0

    wnd2 = inv.loc["CON1_WND-DE-002"]
    assert wnd2["status"] == "blocked" and wnd2["blocked_by"] == "missing_input"
    assert "missing input market VWAP" in wnd2["problems"] and "public trades" in wnd2["problems"]
    assert "quarter-hour(s) with infeed on 2025-06-08:" in wnd2["problems"]
    assert wnd2.isna()[["net_cents", "net_eur", "vat_eur", "gross_eur"]].all() and n_lines == 0  # never a silent 0
    # the fixed-price contracts do not need the market VWAP
    assert inv.loc["CON1_SOL-DE-001", "status"] == "provisional" and inv.loc["CON1_WND-DE-001", "status"] == "provisional"

    data = settings.data_dir
    assert not list((data / "outbox").rglob("*CON1_WND-DE-002*"))
    assert not list((data / "invoices").rglob("*CON1_WND-DE-002*"))
    emails = b"".join(p.read_bytes() for p in (data / "outbox").rglob("*.eml"))
    assert b"Total net 0.00 EUR" not in emails
    ops = (data / "outbox/2025-06/operations.csv").read_text()
    assert "2025-06-CON1_WND-DE-002" in ops and "load the missing input" in ops
