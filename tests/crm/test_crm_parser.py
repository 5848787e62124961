"""CRM snapshot parser: the real sample files and every named rule for bad input."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.defs.crm.parser import OUTPUT_COLUMNS, parse_contracts
from flexpower_dagster.defs.crm.sources import CRM_CONTRACTS_SOURCE
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.load import load_day

SNAPSHOT_0608 = "crm/asset_contracts_20250608_043831.csv"
HEADER = "contract_id,asset_id,metering_point_id,capacity,technology,contract_begin,contract_end,price_model,price,fee_model,fee,fee_percent,email\n"
ROW = "C1,A1,MP-1,1.5,solar,2024-01-01,,fixed,85.0,fixed_as_produced,2.5,,a@b.de\n"


def _write(tmp_path: Path, content: str | bytes, name: str = "asset_contracts_20250608_043831.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return p


def _rule(path: Path) -> SourceFileError:
    with pytest.raises(SourceFileError) as info:
        parse_contracts(path, path.name)
    return info.value


def test_sample_snapshot_typed_and_normalised(sample_dir):
    df = parse_contracts(sample_dir / SNAPSHOT_0608, SNAPSHOT_0608)
    assert list(df.columns) == OUTPUT_COLUMNS
    assert len(df) == 5
    row = df.set_index("contract_id")
    # capacity is MW as delivered
    assert row.loc["CON1_SOL-DE-001", "capacity_mw"] == pytest.approx(1.088)
    assert row.loc["CON1_WND-DE-002", "capacity_mw"] == pytest.approx(6.6)
    # dates are dates; empty contract_end = open-ended (NULL)
    assert row.loc["CON1_SOL-DE-002", "contract_begin"] == pd.Timestamp("2025-06-01")
    assert row.loc["CON1_SOL-DE-002", "contract_end"] == pd.Timestamp("2028-11-01")
    assert pd.isna(row.loc["CON1_SOL-DE-001", "contract_end"])
    # empty numbers are NULL, never 0 (WND-DE-003 is inconsistent, judged by the rules, not here)
    assert pd.isna(row.loc["CON1_WND-DE-003", "price_eur_per_mwh"])
    assert pd.isna(row.loc["CON1_WND-DE-003", "fee_eur"])
    assert row.loc["CON1_WND-DE-003", "fee_percent"] == 7.0
    # snapshot time from the file name
    assert (df["snapshot_created_at"] == pd.Timestamp("2025-06-08 04:38:31")).all()
    assert str(df["contract_begin"].dtype) == "datetime64[ns]"


def test_snapshot_superseding_newest_before_day_end(sample_dir):
    # 2025-06-08: the 2025-06-08 04:38 snapshot wins (its byte-identical 2025-06-01 twin is a duplicate)
    load = load_day(CRM_CONTRACTS_SOURCE, sample_dir, date(2025, 6, 8))
    assert set(load.frame["source_file"]) == {SNAPSHOT_0608}
    assert len(load.frame) == 5
    assert ("crm/asset_contracts_20250601_043417.csv", SNAPSHOT_0608) in load.duplicates
    # 2025-05-30: only the 2025-05-25 snapshot existed
    load = load_day(CRM_CONTRACTS_SOURCE, sample_dir, date(2025, 5, 30))
    assert set(load.frame["source_file"]) == {"crm/asset_contracts_20250525_045438.csv"}
    assert len(load.frame) == 4 and "CON1_SOL-DE-002" not in set(load.frame["contract_id"])
    # before any snapshot: nothing
    assert load_day(CRM_CONTRACTS_SOURCE, sample_dir, date(2025, 5, 24)).frame.empty


def test_snapshot_of_the_day_counts_from_its_creation_day(sample_dir):
    # the 2025-06-01 04:34 snapshot is created during 2025-06-01, so it is in effect for that day
    load = load_day(CRM_CONTRACTS_SOURCE, sample_dir, date(2025, 6, 1))
    assert set(load.frame["source_file"]) == {"crm/asset_contracts_20250601_043417.csv"}


def test_empty_file(tmp_path):
    assert _rule(_write(tmp_path, b"")).rule == "empty-file"
    assert _rule(_write(tmp_path, "\n \n")).rule == "empty-file"


def test_header_only_is_no_rows(tmp_path):
    err = _rule(_write(tmp_path, HEADER))
    assert err.rule == "no-rows" and err.row == 1


def test_missing_column(tmp_path):
    err = _rule(_write(tmp_path, HEADER.replace(",fee_percent", "") + ROW.replace("2.5,,", "2.5,")))
    assert err.rule == "missing-columns" and "fee_percent" in err.detail and err.row == 1


def test_unexpected_column(tmp_path):
    err = _rule(_write(tmp_path, HEADER.strip() + ",iban\n" + ROW.strip() + ",DE00\n"))
    assert err.rule == "unexpected-columns" and "iban" in err.detail


def test_wrongly_encoded_file(tmp_path):
    content = (HEADER + ROW.replace("a@b.de", "müller@b.de")).encode("latin-1")
    err = _rule(_write(tmp_path, content))
    assert err.rule == "encoding" and err.row == 2


def test_utf8_bom_accepted(tmp_path):
    assert len(parse_contracts(_write(tmp_path, "\ufeff" + HEADER + ROW))) == 1


def test_unparseable_number_names_the_row(tmp_path):
    err = _rule(_write(tmp_path, HEADER + ROW + ROW.replace("C1", "C2").replace("85.0", "85 EUR")))
    assert err.rule == "number" and err.row == 3 and "price" in err.detail


def test_unparseable_date_names_the_row(tmp_path):
    err = _rule(_write(tmp_path, HEADER + ROW.replace("2024-01-01", "01.01.2024")))
    assert err.rule == "date" and err.row == 2


def test_duplicate_contract_id(tmp_path):
    err = _rule(_write(tmp_path, HEADER + ROW + ROW))
    assert err.rule == "duplicate-contract-id" and err.row == 3


@pytest.mark.parametrize("line", ["C1,A1,MP-1,1.5,solar\n", ROW.strip() + ",extra\n"])
def test_wrong_field_count(tmp_path, line):
    err = _rule(_write(tmp_path, HEADER + line))
    assert err.rule == "field-count" and err.row == 2


def test_missing_required_value(tmp_path):
    err = _rule(_write(tmp_path, HEADER + ROW.replace("C1,A1", "C1,")))
    assert err.rule == "required-value" and "asset_id" in err.detail


def test_unclosed_quote(tmp_path):
    assert _rule(_write(tmp_path, HEADER + '"C1,A1\n')).rule == "csv-syntax"


def test_inconsistent_terms_are_not_parse_errors(tmp_path):
    df = parse_contracts(_write(tmp_path, HEADER + ROW.replace("85.0", "").replace("2.5,,", ",7.0,")))
    assert pd.isna(df.loc[0, "price_eur_per_mwh"]) and pd.isna(df.loc[0, "fee_eur"])


def test_empty_file_in_landing_is_rejected_not_fatal(tmp_path, sample_dir):
    crm = tmp_path / "crm"
    crm.mkdir()
    (crm / "asset_contracts_20250525_045438.csv").write_bytes((sample_dir / "crm/asset_contracts_20250525_045438.csv").read_bytes())
    (crm / "asset_contracts_20250608_043831.csv").write_bytes(b"")
    load = load_day(CRM_CONTRACTS_SOURCE, tmp_path, date(2025, 6, 8))
    assert [r.rule for r in load.rejected] == ["empty-file"]
    # the broken newest snapshot falls back to the previous readable one
    assert set(load.frame["source_file"]) == {"crm/asset_contracts_20250525_045438.csv"}
