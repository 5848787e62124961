"""Contracts in force and the contract data-quality rules."""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.crm.parser import parse_contracts
from flexpower_dagster.defs.crm.portfolio import in_force
from flexpower_dagster.defs.crm.sources import CRM_CONTRACTS_SOURCE
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.crm.terms import contract_problems, contracts_in_force
from flexpower_dagster.lib.landing.load import load_day

DAY = date(2025, 6, 8)


@pytest.fixture
def snapshot(sample_dir) -> pd.DataFrame:
    return parse_contracts(sample_dir / "crm/asset_contracts_20250608_043831.csv")


def test_in_force_bounds(snapshot):
    ids = lambda d: set(in_force(snapshot, d)["contract_id"])  # noqa: E731
    # SOL-DE-002 begins 2025-06-01 (inclusive)
    assert "CON1_SOL-DE-002" not in ids(date(2025, 5, 31))
    assert "CON1_SOL-DE-002" in ids(date(2025, 6, 1))
    # contract_end is exclusive: WND-DE-002 ends 2029-09-01
    assert "CON1_WND-DE-002" in ids(date(2029, 8, 31))
    assert "CON1_WND-DE-002" not in ids(date(2029, 9, 1))
    # open-ended (empty contract_end) stays in force
    assert "CON1_SOL-DE-001" in ids(date(2040, 1, 1))
    # WND-DE-001 begins 2025-05-01
    assert ids(date(2025, 4, 30)) == {"CON1_SOL-DE-001", "CON1_WND-DE-002", "CON1_WND-DE-003"}
    assert len(in_force(snapshot, DAY)) == 5


def test_in_force_accepts_date_objects_and_keeps_columns(snapshot):
    as_dates = snapshot.assign(
        contract_begin=snapshot["contract_begin"].dt.date,
        contract_end=snapshot["contract_end"].dt.date.where(snapshot["contract_end"].notna(), None),
    )
    out = in_force(as_dates, date(2025, 5, 31))
    assert list(out.columns) == list(as_dates.columns) and len(out) == 4


def test_sample_day_exactly_wnd_de_003_invalid_with_both_problems(sample_dir):
    staged = load_day(CRM_CONTRACTS_SOURCE, sample_dir, DAY).frame
    out = contracts_in_force(staged, DAY)
    assert list(out.columns) == CONTRACTS_IN_FORCE.column_names
    assert len(out) == 5
    invalid = out.loc[~out["valid"]]
    assert list(invalid["contract_id"]) == ["CON1_WND-DE-003"]
    problems = invalid["problems"].iloc[0]
    assert "price_model 'fixed' without price" in problems
    assert "fee_model 'fixed_as_produced' without fee" in problems and "fee_percent 7" in problems
    assert problems.count("; ") == 1
    assert out.loc[out["valid"], "problems"].isna().all()
    assert (out["delivery_day"] == pd.Timestamp(DAY)).all()
    assert set(out["source_file"]) == {"crm/asset_contracts_20250608_043831.csv"}


def test_before_begin_contract_not_in_force(sample_dir):
    staged = load_day(CRM_CONTRACTS_SOURCE, sample_dir, date(2025, 5, 30)).frame
    out = contracts_in_force(staged, date(2025, 5, 30))
    assert set(out["contract_id"]) == {"CON1_SOL-DE-001", "CON1_WND-DE-001", "CON1_WND-DE-002", "CON1_WND-DE-003"}


def test_market_model_with_a_price_is_fine(snapshot):
    c = snapshot.copy()
    c.loc[c["contract_id"] == "CON1_WND-DE-002", "price_eur_per_mwh"] = 60.0
    assert contract_problems(c)[c["contract_id"] == "CON1_WND-DE-002"].iloc[0] == ""


def test_every_inconsistency_is_named(snapshot):
    c = snapshot.set_index("contract_id")
    c.loc["CON1_SOL-DE-001", ["price_model", "fee_model"]] = ["indexed", "per_visit"]
    c.loc["CON1_SOL-DE-002", "fee_percent"] = None  # percent_of_market without fee_percent
    c.loc["CON1_WND-DE-001", "fee_eur"] = None  # fixed_for_capacity without fee
    c.loc["CON1_WND-DE-001", ["technology", "capacity_mw"]] = ["hydro", 0.0]
    c.loc["CON1_WND-DE-002", ["contract_begin", "contract_end"]] = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-01")]
    c.loc["CON1_WND-DE-002", ["email", "metering_point_id"]] = [None, None]
    p = contract_problems(c.reset_index()).set_axis(c.index)
    assert p["CON1_SOL-DE-001"] == "unknown price_model 'indexed'; unknown fee_model 'per_visit'"
    assert p["CON1_SOL-DE-002"] == "fee_model 'percent_of_market' without fee_percent"
    assert "fee_model 'fixed_for_capacity' without fee" in p["CON1_WND-DE-001"]
    assert "unknown technology 'hydro'" in p["CON1_WND-DE-001"]
    assert "capacity 0 MW is not positive" in p["CON1_WND-DE-001"]
    assert "contract_begin 2025-01-01 is not before contract_end 2025-01-01" in p["CON1_WND-DE-002"]
    assert "missing email" in p["CON1_WND-DE-002"] and "missing metering_point_id" in p["CON1_WND-DE-002"]


def test_empty_staging_gives_typed_empty_frame():
    out = contracts_in_force(CONTRACTS_IN_FORCE.empty_frame(), DAY)
    assert out.empty and list(out.columns) == CONTRACTS_IN_FORCE.column_names
