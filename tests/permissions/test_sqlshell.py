"""``make sql AUDIENCE=<audience>``: ad-hoc SQL over an audience's snapshot, where what is not granted does not exist."""

from __future__ import annotations

from flexpower_dagster import sqlshell


def test_sql_over_an_audience_snapshot(internal_snapshots, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FLEXPOWER_DATA_DIR", str(internal_snapshots["trading"].parent.parent))
    monkeypatch.setenv("FLEXPOWER_WAREHOUSE", str(tmp_path / "none.duckdb"))
    assert sqlshell.main(["--audience", "trading", "SELECT count(*) AS n FROM marts.trading_daily"]) == 0
    assert capsys.readouterr().out.split() == ["n", "1"]
    assert sqlshell.main(["--audience", "trading", "SELECT count(*) FROM marts.invoices"]) == 0
    assert "Table with name invoices does not exist" in capsys.readouterr().out
    assert sqlshell.main(["--audience", "management", "SELECT email FROM marts.invoices"]) == 0
    assert 'column "email" not found' in capsys.readouterr().out
    for refused in (["--audience", "customer:maria.schmidt@energypartners.de", "SELECT 1"], ["--audience", "sales", "SELECT 1"],
                    ["--audience"]):
        assert sqlshell.main(refused) == 1
        assert capsys.readouterr().out.startswith("--audience")
    # the warehouse copy of `make sql` is not there: it says so instead of opening anything else
    assert sqlshell.main(["SELECT 1"]) == 1
    assert "warehouse_snapshot" in capsys.readouterr().out
