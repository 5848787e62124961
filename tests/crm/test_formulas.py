"""The payout and fee formulas, written once: the same text gives the invoice amount (Decimal) and the
report's per-quarter-hour estimate (SQL)."""

from decimal import Decimal

import duckdb
import pytest

from flexpower_dagster.defs.crm.formulas import FEE, PAYOUT, Formula, case_sql

Q = {
    "mwh": Decimal("12.345"),
    "market_value": Decimal("987.65"),
    "price": Decimal("80"),
    "fee": Decimal("2.5"),
    "fee_percent": Decimal("7"),
    "capacity": Decimal("5.6"),
    "days": Decimal("10"),
    "days_in_month": Decimal("30"),
}


def test_invoice_amounts_by_hand():
    assert PAYOUT["fixed"].value(Q) == Decimal("987.600")  # 12.345 MWh x 80 EUR/MWh
    assert PAYOUT["market"].value(Q) == Decimal("987.65")
    assert FEE["fixed_as_produced"].value(Q) == Decimal("30.8625")  # 12.345 x 2.5
    assert FEE["fixed_for_capacity"].value(Q).quantize(Decimal("0.000001")) == Decimal("4.666667")  # 5.6 x 2.5 x 10/30
    assert FEE["percent_of_market"].value(Q) == Decimal("69.1355")  # 987.65 x 7 %


@pytest.mark.parametrize("model", list(FEE))
def test_sql_equals_decimal(model):
    columns = {name: f"CAST({value} AS DOUBLE)" for name, value in Q.items()}
    got = duckdb.sql(f"SELECT {FEE[model].sql(columns)}").fetchone()[0]
    assert got == pytest.approx(float(FEE[model].value(Q)), rel=1e-12)


def test_case_sql_picks_the_model_and_unknown_is_null():
    columns = {name: f"CAST({value} AS DOUBLE)" for name, value in Q.items()}
    sql = case_sql("m", PAYOUT, columns)
    rows = duckdb.sql(f"SELECT m, {sql} FROM (VALUES ('fixed'), ('market'), ('other')) t(m) ORDER BY m").fetchall()
    assert rows == [("fixed", pytest.approx(987.6)), ("market", pytest.approx(987.65)), ("other", None)]


def test_only_arithmetic_is_allowed():
    with pytest.raises(ValueError):
        Formula("__import__('os').system('x')")
    assert Formula("capacity * fee * days / days_in_month").names() == {"capacity", "fee", "days", "days_in_month"}
