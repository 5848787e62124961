"""Check results state what was observed against the limit, per entity (lib/quality/observations.py and the
check text in lib/dagster/checks.py): hand-made frames where the expected sentence can be read off."""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.lib.dagster.checks import _description, observations
from flexpower_dagster.lib.quality.observations import fmt, row_noun
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    WARN,
    a_ge_b,
    between,
    in_set,
    not_null,
    row_count,
    run_suite,
    structure,
    suite,
)
from flexpower_dagster.lib.tables import Column, TableSpec

D = pd.Timestamp(date(2025, 6, 8))
QHS = pd.date_range(D, periods=96, freq="15min")
TABLE = TableSpec(
    schema="marts", name="probe",
    columns=(Column("delivery_day", "DATE"), Column("asset_id", "VARCHAR"), Column("delivery_start", "TIMESTAMP"),
             Column("price_source", "VARCHAR"), Column("share", "DOUBLE")),
    key=("delivery_day", "asset_id", "delivery_start"),
)
SUITE = suite(
    asset=("marts", "probe"), table=TABLE, entity="asset_id",
    expectations=(
        *structure(TABLE, entity="asset_id"),
        in_set("price_source", ("final",), mostly=0.95, check="freshness", severity=WARN, entity="asset_id",
               id="final-share", description="at most 5% of QHs priced with estimates"),
        between("share", 0, 0.1, check="plausibility", severity=WARN, description="share <= 10%"),
    ),
)


def _frame(estimates: dict[str, int], share: float = 0.05) -> pd.DataFrame:
    parts = []
    for asset, n in estimates.items():
        source = ["estimate"] * n + ["final"] * (96 - n)
        parts.append(pd.DataFrame({"delivery_day": D, "asset_id": asset, "delivery_start": QHS, "price_source": source, "share": share}))
    return TABLE.conform(pd.concat(parts, ignore_index=True))


def test_per_entity_share_against_the_limit_as_the_check_result():
    frame = _frame({"SOL-DE-001": 10, "WND-DE-001": 0})
    result = run_suite(SUITE, frame)
    outcome = result.checks()["freshness"]
    assert not outcome.passed
    r = result["final-share"]
    assert r.observation == "10 of 192 QHs (5.2 %) have price_source = 'estimate' (expected 'final'); limit 5 %"
    assert r.entity_observations == {
        "SOL-DE-001": "10 of 96 QHs (10.4 %) have price_source = 'estimate' (expected 'final'); limit 5 %"
    }
    text = _description(SUITE, outcome, frame)
    assert text == "SOL-DE-001: 10 of 96 QHs (10.4 %) have price_source = 'estimate' (expected 'final'); limit 5 %"
    assert "at most 5% of QHs" not in text  # the rule is the check's description, not its result


def test_values_outside_a_range_name_what_was_seen_and_a_pass_reads_as_a_pass():
    frame = _frame({"SOL-DE-001": 0}, share=0.2)
    result = run_suite(SUITE, frame)
    assert result["share-range"].observation == "96 of 96 QHs (100.0 %) with share = 0.2; allowed 0 .. 0.1"
    assert _description(SUITE, result.checks()["freshness"], frame) == "Passed: all 1 expectations hold (96 rows checked)."


def test_null_where_a_rule_applies_single_row_entities_and_table_level_expectations():
    table = TableSpec(
        schema="staging", name="terms",
        columns=(Column("delivery_day", "DATE"), Column("contract_id", "VARCHAR"), Column("price_model", "VARCHAR"),
                 Column("price", "DOUBLE"), Column("begin", "DATE"), Column("end", "DATE"), Column("n_qh", "BIGINT")),
        key=("delivery_day", "contract_id"),
    )
    probe = suite(
        asset=("staging", "terms"), table=table, entity="contract_id",
        expectations=(
            not_null("price", check="terms", severity=WARN, entity="contract_id", id="fixed-has-price",
                     description="price_model 'fixed' has a price", row_condition='price_model=="fixed"', condition_parser="pandas"),
            a_ge_b("end", "begin", check="terms", severity=WARN, entity="contract_id", strict=True, id="begin-before-end",
                   description="begin before end"),
            between("n_qh", 96, 96, check="completeness", severity=WARN, entity="contract_id", id="qh", description="96 QHs"),
            row_count(3, None, check="volume", severity=BLOCKING, description="at least 3 contracts"),
        ),
    )
    frame = table.conform(pd.DataFrame({
        "delivery_day": [D, D], "contract_id": ["C-1", "C-2"], "price_model": ["fixed", "market"], "price": [None, None],
        "begin": [pd.Timestamp("2025-02-01"), pd.Timestamp("2025-01-01")],
        "end": [pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01")], "n_qh": [86, 96],
    }))
    result = run_suite(probe, frame)
    assert result["fixed-has-price"].entity_observations == {"C-1": "price is NULL (where price_model = 'fixed')"}
    assert result["begin-before-end"].entity_observations == {"C-1": "end = 2025-01-01, begin = 2025-02-01; expected end > begin"}
    assert result["qh"].entity_observations == {"C-1": "n_qh = 86; expected 96"}
    assert result["row-count"].observation == "2 rows; expected at least 3"
    per_entity, whole = observations(probe, result.checks()["terms"], frame)
    assert per_entity == {"C-1": ["price is NULL (where price_model = 'fixed')", "end = 2025-01-01, begin = 2025-02-01; expected end > begin"]}
    assert whole == []
    assert "None" not in _description(probe, result.checks()["terms"], frame)


def test_missing_columns_are_named():
    frame = _frame({"SOL-DE-001": 0}).drop(columns=["share"]).assign(extra=1)
    assert run_suite(SUITE, frame)["columns"].observation == "columns: missing share; unexpected extra"


def test_values_are_shown_without_float_noise():
    assert fmt(19.550000000000004) == "19.55" and fmt(None) == "NULL" and fmt("x") == "'x'" and fmt(True) == "true"
    assert fmt(pd.Timestamp("2025-06-08")) == "2025-06-08" and fmt(pd.Timestamp("2025-06-08 10:15")) == "2025-06-08 10:15"
    assert row_noun(("delivery_day", "delivery_start")) == "QHs" and row_noun(("delivery_day",)) == "rows"
