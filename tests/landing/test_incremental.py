"""The two applications of the loading rules store the same rows: SQL (``load_days``) and pandas (``load_day``).

Both loaders take their outcomes from ``lib/landing/rules.classify`` (each rule proven on hand-made cases in
test_rules.py); here each case builds a small landing zone, loads it both ways and compares the staging rows, the
rejections and the duplicates; the incremental cases load in steps (files added, changed, removed, broken) and
compare with a load from scratch of the final state.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flexpower_dagster.defs.vpp.sources import VPP_FORECASTS_SOURCE, VPP_LIVE_SAMPLES_SOURCE
from flexpower_dagster.lib.landing.facts import clear_caches
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.incremental import load_days
from flexpower_dagster.lib.landing.load import load_day
from flexpower_dagster.lib.landing.source import LOADED_FILES, REJECTED_FILES, SourceSpec

from support import SAMPLE_DIR

DAY = date(2025, 6, 8)
FORECASTS = SAMPLE_DIR / "vpp" / "forecasts"
LIVE = SAMPLE_DIR / "vpp" / "live_measured_infeed"


def copy(root: Path, src: Path, folder: str, name: str | None = None, mtime: int = 1_750_000_000) -> Path:
    dest = root / folder / (name or src.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    os.utime(dest, (mtime, mtime))
    return dest


def write(path: Path, text: str, mtime: int = 1_750_000_100) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def by_pandas(spec: SourceSpec, root: Path, days: list[date]) -> tuple[pd.DataFrame, set, set]:
    """What load_day stores for the days (from scratch), its rejections and its duplicates."""
    clear_caches()
    files = scan(root, [spec]).files[spec.name]
    loads = [load_day(spec, root, d, files=files) for d in days]
    frame = pd.concat([spec.table.conform(x.frame) for x in loads], ignore_index=True)
    rejected = {(r.file, r.rule) for x in loads for r in x.rejected}
    duplicates = {pair for x in loads for pair in x.duplicates}
    return frame, rejected, duplicates


def by_sql(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, root: Path, days: list[date]):
    clear_caches()
    return load_days(conn, spec, scan(root, [spec]).files[spec.name], days, workers=1)


def stored(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, days: list[date]) -> pd.DataFrame:
    return conn.execute(
        f"SELECT * FROM {spec.table.qualified_name} WHERE delivery_day IN (SELECT unnest(?))", [days]
    ).fetchdf()


def rejected_in_warehouse(conn, spec: SourceSpec, days: list[date]) -> set:
    return set(conn.execute(
        f"SELECT file, rule FROM {REJECTED_FILES.qualified_name} WHERE source = ? AND delivery_day IN (SELECT unnest(?))",
        [spec.name, days],
    ).fetchall())


def assert_same_rows(a: pd.DataFrame, b: pd.DataFrame, spec: SourceSpec) -> None:
    key = list(spec.table.key)
    cols = spec.table.column_names
    a = spec.table.conform(a)[cols].sort_values(key).reset_index(drop=True)
    b = spec.table.conform(b)[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def assert_equivalent(conn, spec: SourceSpec, root: Path, days: list[date]) -> None:
    frame, rejected, _ = by_pandas(spec, root, days)
    assert_same_rows(stored(conn, spec, days), frame, spec)
    assert rejected_in_warehouse(conn, spec, days) == rejected


@pytest.fixture
def conn(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield c
    c.close()


def sample_forecasts(n: int, asset: str = "SOL-DE-001") -> list[Path]:
    return sorted(FORECASTS.glob(f"forecast_{asset}_*.json"))[:n]


# ------------------------------------------------------------------------------------------------
# the real sample


@pytest.mark.parametrize("spec", [VPP_FORECASTS_SOURCE, VPP_LIVE_SAMPLES_SOURCE], ids=lambda s: s.name)
def test_sample_day_equals_the_pandas_loader(conn, spec):
    days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]
    result = by_sql(conn, spec, SAMPLE_DIR, days)
    assert result.rows_inserted > 0 and not result.rejected
    assert_equivalent(conn, spec, SAMPLE_DIR, days)
    # lineage: every file of the days recorded once per day, loaded
    lineage = conn.execute(f"SELECT status, count(*) FROM {LOADED_FILES.qualified_name} GROUP BY 1").fetchall()
    assert dict(lineage) == {"loaded": sum(len(x) for x in [result.files_used])}


def test_a_second_load_reads_nothing_and_changes_nothing(conn):
    days = [DAY]
    by_sql(conn, VPP_FORECASTS_SOURCE, SAMPLE_DIR, days)
    before = stored(conn, VPP_FORECASTS_SOURCE, days)
    again = by_sql(conn, VPP_FORECASTS_SOURCE, SAMPLE_DIR, days)
    assert again.files_read == 0 and again.files_unchanged == len(before["source_file"].unique())
    assert_same_rows(stored(conn, VPP_FORECASTS_SOURCE, days), before, VPP_FORECASTS_SOURCE)


# ------------------------------------------------------------------------------------------------
# rules, file by file


def test_new_versions_are_appended_without_reading_the_others(conn, tmp_path):
    root = tmp_path / "landing"
    files = sample_forecasts(12)
    for f in files[:8]:
        copy(root, f, "vpp/forecasts")
    days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]
    first = by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert first.files_read == 8
    for f in files[8:]:
        copy(root, f, "vpp/forecasts")
    second = by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert second.files_read == 4 and not second.rebuilt_days
    assert_equivalent(conn, VPP_FORECASTS_SOURCE, root, days)


def test_duplicates_broken_files_and_shared_keys(conn, tmp_path):
    root = tmp_path / "landing"
    a, b, c = sample_forecasts(3)
    copy(root, a, "vpp/forecasts")
    copy(root, b, "vpp/forecasts")
    # a byte-identical copy under a newer name: the newer name is kept, the older ignored
    copy(root, b, "vpp/forecasts", b.name.replace("T00", "T01"))
    # the same asset and version as `a` under another name (newer): its rows win for the shared keys
    doc = json.loads(a.read_text())
    doc["values"][-1] = [v * 2 for v in doc["values"][-1]]
    write(root / "vpp/forecasts" / a.name.replace("T00", "T02"), json.dumps(doc))
    # broken files: cut off, non-finite, off the quarter-hour grid
    write(root / "vpp/forecasts" / c.name, c.read_text()[:500])
    doc = json.loads(c.read_text())
    first = repr(doc["values"][0][0])
    assert first in c.read_text()
    write(root / "vpp/forecasts/forecast_SOL-DE-001_2025-06-07T031500Z.json", c.read_text().replace(first, "1e400", 1))
    write(root / "vpp/forecasts/forecast_SOL-DE-001_2025-06-07T033000Z.json", c.read_text().replace(first, repr(doc["values"][0][0] + 1), 1))
    days = [DAY - timedelta(days=1), DAY]
    result = by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    _frame, rejected, duplicates = by_pandas(VPP_FORECASTS_SOURCE, root, days)
    assert {r.rule for r in result.rejected} == {rule for _, rule in rejected} == {"truncated-json", "timestamp-unit-by-magnitude", "quarter-hour-grid"}
    assert all(r.reason.count(f"[{r.rule}]") == 1 for r in result.rejected)  # the rule named once
    assert set(result.duplicates) == duplicates and duplicates
    assert result.rows_superseded > 0
    assert_equivalent(conn, VPP_FORECASTS_SOURCE, root, days)


def test_a_changed_file_rebuilds_its_day(conn, tmp_path):
    root = tmp_path / "landing"
    a, b = sample_forecasts(2)
    copy(root, a, "vpp/forecasts")
    copy(root, b, "vpp/forecasts")
    # a newer file sharing a's keys supersedes a's rows ...
    doc = json.loads(a.read_text())
    doc["values"][-1] = [v + 1000 for v in doc["values"][-1]]
    newer = root / "vpp/forecasts" / a.name.replace("T00", "T02")
    write(newer, json.dumps(doc))
    days = [DAY - timedelta(days=1), DAY]
    by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert_equivalent(conn, VPP_FORECASTS_SOURCE, root, days)
    # ... and when it is removed, a's rows come back
    newer.unlink()
    result = by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert result.rebuilt_days == days
    assert_equivalent(conn, VPP_FORECASTS_SOURCE, root, days)
    # a file re-delivered with other content replaces its rows
    doc = json.loads(b.read_text())
    doc["values"][-1] = [v + 1 for v in doc["values"][-1]]
    write(root / "vpp/forecasts" / b.name, json.dumps(doc), mtime=1_750_000_500)
    by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert_equivalent(conn, VPP_FORECASTS_SOURCE, root, days)


def test_a_broken_redelivery_keeps_what_was_stored(conn, tmp_path):
    root = tmp_path / "landing"
    (a,) = sample_forecasts(1)
    path = copy(root, a, "vpp/forecasts")
    days = [DAY - timedelta(days=1), DAY]
    by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    before = stored(conn, VPP_FORECASTS_SOURCE, days)
    write(path, a.read_text()[:300], mtime=1_750_000_900)  # cut off in transfer
    result = by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert result.carried_forward_rows == len(before)
    assert [r.rule for r in result.rejected] == ["truncated-json"]
    assert_same_rows(stored(conn, VPP_FORECASTS_SOURCE, days), before, VPP_FORECASTS_SOURCE)
    # and the pandas loader, given the rows stored before, carries the same rows
    files = scan(root, [VPP_FORECASTS_SOURCE]).files["vpp_forecasts"]
    frames = [load_day(VPP_FORECASTS_SOURCE, root, d, previous=before.loc[before["delivery_day"].eq(pd.Timestamp(d))], files=files).frame
              for d in days]
    assert_same_rows(pd.concat(frames), before, VPP_FORECASTS_SOURCE)
    # a later unrelated load keeps carrying them; the repaired file replaces them
    again = by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert again.files_read == 0
    assert_same_rows(stored(conn, VPP_FORECASTS_SOURCE, days), before, VPP_FORECASTS_SOURCE)
    shutil.copyfile(a, path)
    os.utime(path, (1_750_001_000, 1_750_001_000))
    by_sql(conn, VPP_FORECASTS_SOURCE, root, days)
    assert_equivalent(conn, VPP_FORECASTS_SOURCE, root, days)
    assert not rejected_in_warehouse(conn, VPP_FORECASTS_SOURCE, days)


def test_live_files_sharing_samples_newest_wins(conn, tmp_path):
    root = tmp_path / "landing"
    src = LIVE / "WND01_20250608.json"
    copy(root, src, "vpp/live_measured_infeed")
    doc = json.loads(src.read_text())
    doc["values"][1] = [v + 1 for v in doc["values"][1]]  # same samples, other values, a later local day's file name
    write(root / "vpp/live_measured_infeed/WND01_20250609.json", json.dumps(doc))
    days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]
    result = by_sql(conn, VPP_LIVE_SAMPLES_SOURCE, root, days)
    assert result.rows_superseded > 0
    assert_equivalent(conn, VPP_LIVE_SAMPLES_SOURCE, root, days)


def test_workers_give_the_same_rows(conn, tmp_path):
    days = [DAY]
    clear_caches()
    load_days(conn, VPP_FORECASTS_SOURCE, scan(SAMPLE_DIR, [VPP_FORECASTS_SOURCE]).files["vpp_forecasts"], days, workers=2)
    frame, _, _ = by_pandas(VPP_FORECASTS_SOURCE, SAMPLE_DIR, days)
    assert_same_rows(stored(conn, VPP_FORECASTS_SOURCE, days), frame, VPP_FORECASTS_SOURCE)
