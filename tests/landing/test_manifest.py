"""The landing manifest: a file is hashed, dated and parsed once per change, whichever process reads it first
(a sensor tick, then a staging load in another process); a changed file is learnt afresh."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.lib.landing import facts as facts_module
from flexpower_dagster.lib.landing.facts import Facts, clear_caches
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import load_day
from flexpower_dagster.lib.landing.manifest import Manifest
from flexpower_dagster.lib.landing.source import SourceSpec, days_from_content
from flexpower_dagster.lib.tables import Column, TableSpec

DAY = date(2025, 6, 8)
TABLE = TableSpec(
    "staging", "things",
    (Column("delivery_day", "DATE"), Column("delivery_start", "TIMESTAMP"), Column("mw", "DOUBLE"), Column("source_file", "VARCHAR")),
    key=("delivery_day", "delivery_start"),
)


@pytest.fixture
def counting_spec():
    calls: list[str] = []

    def parse(path, name):
        calls.append(name)
        rows = [line.split(",") for line in Path(path).read_text().split()]
        return pd.DataFrame({"delivery_start": pd.to_datetime([r[0] for r in rows]), "mw": [float(r[1]) for r in rows]})

    spec = SourceSpec(
        name="things", system="things", folder="things", pattern=re.compile(r"things_\d+\.csv"), table=TABLE,
        parse=parse, kind="events", file_time=lambda b: datetime(2025, 1, 1), time_column="delivery_start",
        days_covered=days_from_content(parse, lambda b: frozenset({DAY})), row_key=("delivery_start",),
    )
    return spec, calls


def _write(root, name, text):
    (root / "things").mkdir(parents=True, exist_ok=True)
    path = root / "things" / name
    path.write_text(text)
    return path


def test_each_file_is_read_once_across_processes(tmp_path, counting_spec, monkeypatch):
    monkeypatch.setattr(facts_module, "KEEP_PARSED_FROM_SECONDS", 0.0)  # a parse dearer than keeping its rows
    spec, calls = counting_spec
    root = tmp_path / "landing"
    _write(root, "things_1.csv", "2025-06-08T10:00,1.5\n2025-06-09T10:00,2.5\n")
    facts = Facts(Manifest(tmp_path / "manifest"))
    (f,) = scan(root, [spec]).files["things"]

    # the sensor learns the days (parsing the file) and the hash
    assert facts.days(spec, f) == {DAY, date(2025, 6, 9)}
    sha = facts.sha256(f)
    assert calls == ["things/things_1.csv"]

    # "another process": nothing cached in memory, the manifest answers; the load does not parse again
    clear_caches()
    other = Manifest(tmp_path / "manifest")
    load = load_day(spec, root, DAY, facts=Facts(other))
    assert calls == ["things/things_1.csv"]
    assert load.frame["mw"].tolist() == [1.5]
    facts = other.get(f)
    assert facts.sha256 == sha and facts.days == {DAY, date(2025, 6, 9)} and facts.status == "loaded" and facts.n_rows == 2


def test_a_quick_parse_is_not_kept_the_load_parses_again_the_days_stay_known(tmp_path, counting_spec, monkeypatch):
    """Rows that parse faster than writing them cost are not written to the store: another process's load parses
    the file again (once); what the sensor learnt (days, hash) is still never learnt twice."""
    monkeypatch.setattr(facts_module, "KEEP_PARSED_FROM_SECONDS", 10.0)
    spec, calls = counting_spec
    root = tmp_path / "landing"
    _write(root, "things_1.csv", "2025-06-08T10:00,1.5\n2025-06-09T10:00,2.5\n")
    (f,) = scan(root, [spec]).files["things"]
    assert Facts(Manifest(tmp_path / "manifest")).days(spec, f) == {DAY, date(2025, 6, 9)}
    assert not list((tmp_path / "manifest").rglob("*.parquet"))
    clear_caches()  # a sensor tick in another process: the days are known, nothing is parsed
    assert Facts(Manifest(tmp_path / "manifest")).days(spec, f) == {DAY, date(2025, 6, 9)}
    assert calls == ["things/things_1.csv"]
    clear_caches()  # the load in another process parses it (once)
    load = load_day(spec, root, DAY, facts=Facts(Manifest(tmp_path / "manifest")))
    assert load.frame["mw"].tolist() == [1.5]
    assert calls == ["things/things_1.csv"] * 2


def test_a_changed_file_is_learnt_afresh_and_a_rejection_is_recorded(tmp_path, counting_spec):
    spec, calls = counting_spec
    root = tmp_path / "landing"
    path = _write(root, "things_1.csv", "2025-06-08T10:00,1.5\n")
    manifest = Manifest(tmp_path / "manifest")
    load_day(spec, root, DAY, facts=Facts(manifest))
    path.write_text("2025-06-08T10:00,not-a-number\n")
    os.utime(path, ns=(1, 2))  # a different fingerprint
    clear_caches()
    load = load_day(spec, root, DAY, facts=Facts(manifest))
    # first version: days and rows from one parse; the changed file: its days (unreadable: the guess from the
    # name) and its load each try a parse, which fails, so nothing is kept
    assert len(calls) == 3
    assert [r.file for r in load.rejected] == ["things/things_1.csv"]
    (f,) = scan(root, [spec]).files["things"]
    assert manifest.get(f).status == "rejected" and manifest.get(f).rule == "unreadable"


def test_facts_of_other_code_versions_are_dropped(tmp_path):
    old = Manifest(tmp_path / "m", version="aaa")
    assert (tmp_path / "m" / "aaa").is_dir()
    old.close()
    Manifest(tmp_path / "m", version="bbb")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["bbb"]
