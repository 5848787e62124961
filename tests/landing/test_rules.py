"""The loading rules (lib/landing/rules.py) on hand-made cases: no file is read, no warehouse is opened.

Each case gives ``classify`` candidates, what the warehouse remembers and what reading taught, and checks
what it asks to read and what becomes of each file. Both loaders (``load_day``, ``load_days``) apply these
outcomes; tests/landing/test_incremental.py shows that they store the same rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.landing.rules import SHRINK_MIN_ROWS, Facts, Known, changes, classify, shrunk
from flexpower_dagster.lib.landing.source import LOADED_FILES, LandingFile, Rejection, SourceSpec
from flexpower_dagster.lib.tables import Column, TableSpec

DAY = date(2025, 6, 8)
TABLE = TableSpec("staging", "t", (Column("delivery_day", "DATE"), Column("source_file", "VARCHAR")), key=("delivery_day",))


def spec(kind: str = "events", group: bool = False) -> SourceSpec:
    """Files are named ``<yyyymmddThhmm>_<group>_<anything>``: the time orders them, the group part groups them."""
    return SourceSpec(
        name="s", system="test", folder="f", pattern=re.compile(r".*"), table=TABLE,
        parse=lambda path, name: pd.DataFrame(), kind=kind,  # type: ignore[arg-type]
        file_time=lambda base: datetime.strptime(base[:13], "%Y%m%dT%H%M"),
        time_column="t" if kind == "events" else None,
        days_covered=(lambda f: frozenset({DAY})) if kind == "events" else None,
        supersede_group=(lambda f: f.basename.split("_")[1]) if group else None,
    )


def file(stamp: str, tag: str = "x", size: int = 100, mtime: int = 1) -> LandingFile:
    return LandingFile(Path("/nowhere"), f"f/{stamp}_{tag}.csv", size, mtime)


def ok(rows: int = 10, sha: str | None = None, signature: str | None = None) -> Facts:
    return Facts(sha256=sha, parsed=True, rows=rows, signature=signature)


def broken(f: LandingFile, rule: str = "truncated") -> Facts:
    return Facts(parsed=True, error=Rejection("s", f.name, rule, f"[{rule}] cut off", row=3))


def remembered(size: int, mtime: int, sha: str, status: str, rows: int, carried: int = 0, rule: str | None = None,
               seen_at: datetime | None = None, signature: str | None = None, duplicate_of: str | None = None) -> Known:
    error = Rejection("s", "f/any.csv", rule, f"[{rule}] cut", row=2) if rule else None
    return Known(sha, True, rows, error, signature, size, mtime, status, carried, seen_at, duplicate_of)


def outcomes(plan) -> dict[str, str]:
    return {o.file.name: o.status for o in plan.outcomes}


def test_same_size_files_are_hashed_first_and_identical_ones_give_way_to_the_newest_name():
    a, b, c = file("20250608T0100", "a"), file("20250608T0200", "b"), file("20250608T0300", "c", size=7)
    plan = classify(spec(), DAY, [a, b, c])
    assert plan.to_hash == [a, b] and not plan.to_read and not plan.outcomes
    facts = {a.name: Facts("h"), b.name: Facts("h")}
    plan = classify(spec(), DAY, [a, b, c], facts=facts)
    assert plan.to_read == [b, c]  # the duplicate is not read
    facts |= {b.name: ok(sha="h"), c.name: broken(c)}
    plan = classify(spec(), DAY, [a, b, c], facts=facts)
    assert plan.complete
    assert outcomes(plan) == {a.name: "duplicate", b.name: "loaded", c.name: "rejected"}
    assert plan.duplicates == [(a.name, b.name)] and plan.used == [b.name]
    assert [(r.file, r.rule, r.row) for r in plan.rejected] == [(c.name, "truncated", 3)]
    assert not plan.carried and not plan.rebuild


def test_empty_files_are_never_duplicates():
    a, b = file("20250608T0100", "a", size=0), file("20250608T0200", "b", size=0)
    plan = classify(spec(), DAY, [a, b])
    assert not plan.to_hash and plan.to_read == [a, b]


def test_a_snapshot_source_uses_the_newest_readable_snapshot_taken_before_the_day_ends():
    old, mid, new, later = (file(s, size=n) for s, n in
                            [("20250601T0000", 1), ("20250605T0000", 2), ("20250608T2300", 3), ("20250609T0000", 4)])
    plan = classify(spec("snapshot"), DAY, [old, mid, new, later])
    assert plan.to_read == [new]  # newest first, one at a time; the next day's snapshot is no candidate
    plan = classify(spec("snapshot"), DAY, [old, mid, new, later], facts={new.name: broken(new)})
    assert plan.to_read == [mid]
    plan = classify(spec("snapshot"), DAY, [old, mid, new, later], facts={new.name: broken(new), mid.name: ok()})
    assert outcomes(plan) == {new.name: "rejected", mid.name: "loaded", old.name: "superseded"}
    assert plan.superseded == [old.name]


def test_no_readable_snapshot_rejects_them_all():
    a, b = file("20250601T0000", size=1), file("20250602T0000", size=2)
    plan = classify(spec("snapshot"), DAY, [a, b], facts={a.name: broken(a), b.name: broken(b)})
    assert outcomes(plan) == {a.name: "rejected", b.name: "rejected"} and not plan.used


def test_a_supersede_group_uses_its_newest_export():
    e1, e2 = file("20250608T0100", "d1", size=1), file("20250608T0200", "d1", size=2)
    other = file("20250608T0000", "d2", size=3)
    plan = classify(spec(group=True), DAY, [e1, e2, other])
    assert plan.to_read == [other, e2]  # the newest of each group
    plan = classify(spec(group=True), DAY, [e1, e2, other], facts={other.name: ok(), e2.name: ok(100)})
    assert plan.to_read == [e1]  # the next older export, to compare the row counts
    plan = classify(spec(group=True), DAY, [e1, e2, other], facts={other.name: ok(), e2.name: ok(100), e1.name: ok(95)})
    assert outcomes(plan) == {other.name: "loaded", e2.name: "loaded", e1.name: "superseded"}


def test_a_shrunk_redelivery_is_held_and_the_older_export_stays_in_use():
    e1, e2, e3 = (file(s, "d1", size=n) for s, n in [("20250608T0100", 1), ("20250608T0200", 2), ("20250608T0300", 3)])
    known = {e3.name: remembered(3, 9, "old", "loaded", 50)}  # e3 stored rows before, then changed
    facts = {e3.name: ok(50), e2.name: broken(e2), e1.name: ok(100)}
    plan = classify(spec(group=True), DAY, [e1, e2, e3], known, facts)
    assert outcomes(plan) == {e3.name: "rejected", e2.name: "superseded", e1.name: "loaded"}
    (held,) = plan.rejected
    assert held.rule == "shrunk-redelivery" and e1.name in held.reason
    assert not plan.carried  # a held export was never right: nothing of it is carried forward
    assert shrunk(50, 100) and not shrunk(95, 100) and not shrunk(100 - SHRINK_MIN_ROWS, 40 + SHRINK_MIN_ROWS)


def test_a_broken_redelivery_carries_forward_what_its_earlier_version_stored():
    a, b = file("20250608T0100", "a", size=1), file("20250608T0200", "b", size=2)
    known = {a.name: remembered(1, 0, "old", "loaded", 10, signature="A"), b.name: remembered(2, 1, "hb", "loaded", 5, signature="B")}
    assert changes([a, b], known) == (True, set())  # a changed (mtime): the day is loaded from all its files
    plan = classify(spec(), DAY, [a, b], known, {a.name: broken(a), b.name: ok(5, "hb", "B")})
    assert outcomes(plan) == {a.name: "rejected", b.name: "loaded"} and plan.carried == [a.name]
    assert plan.key_check == {a.name, b.name}  # the carried rows' keys are unknown: compared with all
    row = dict(zip(LOADED_FILES.column_names, next(o for o in plan.outcomes if o.carry).lineage(DAY, spec(), 10, datetime(2025, 6, 9))))
    assert (row["status"], row["carried_rows"], row["rule"], row["row"]) == ("rejected", 10, "truncated", 3)


def test_unchanged_files_are_not_read_again_and_keep_their_outcome():
    a, b = file("20250608T0100", "a", size=1), file("20250608T0200", "b", size=2)
    seen = datetime(2025, 6, 8, 12)
    known = {
        a.name: remembered(1, 1, "ha", "loaded", 10, seen_at=seen, signature="A"),
        b.name: remembered(2, 1, "hb", "rejected", 0, carried=4, rule="truncated", seen_at=seen),
    }
    new = file("20250608T0300", "c", size=3)
    assert changes([a, b, new], known) == (False, {a.name, b.name})  # only the new file is read
    plan = classify(spec(), DAY, [a, b, new], known, {new.name: ok(3, "hc", "C")})
    assert outcomes(plan) == {a.name: "loaded", b.name: "rejected", new.name: "loaded"}
    assert [r.rule for r in plan.rejected] == ["truncated"] and not plan.carried
    rows = {o.file.name: dict(zip(LOADED_FILES.column_names, o.lineage(DAY, spec(), 0, datetime(2025, 6, 9)))) for o in plan.outcomes}
    assert rows[b.name]["carried_rows"] == 4 and rows[b.name]["seen_at"] == seen  # still carried, first seen then
    assert rows[new.name]["seen_at"] == datetime(2025, 6, 9)
    assert plan.key_check == {a.name, b.name, new.name}  # b's carried rows have no signature: compared with all
    known[b.name] = remembered(2, 1, "hb", "rejected", 0, rule="truncated", seen_at=seen)
    assert not classify(spec(), DAY, [a, b, new], known, {new.name: ok(3, "hc", "C")}).key_check  # A and C differ


def test_a_vanished_file_rebuilds_the_day_only_when_it_had_rows():
    a = file("20250608T0100", "a")
    rejected_only = {"f/gone.csv": remembered(5, 1, "g", "rejected", 0, rule="x")}
    assert not classify(spec(), DAY, [a], rejected_only).rebuild
    assert classify(spec(), DAY, [a], {"f/gone.csv": remembered(5, 1, "g", "loaded", 8)}).rebuild


def test_a_newer_identical_copy_makes_a_loaded_file_a_duplicate():
    a = file("20250608T0100", "a")
    known = {a.name: remembered(100, 1, "h", "loaded", 10, signature="A")}
    copy = file("20250608T0200", "copy")
    plan = classify(spec(), DAY, [a, copy], known, {copy.name: ok(10, "h", "A")})
    assert outcomes(plan) == {a.name: "duplicate", copy.name: "loaded"}
    assert plan.duplicates == [(a.name, copy.name)] and plan.having("duplicate")[0].known is not None  # its rows go
    assert not plan.key_check


def test_files_sharing_a_key_signature_are_compared():
    a, b, c = file("20250608T0100", "a", size=1), file("20250608T0200", "b", size=2), file("20250608T0300", "c", size=3)
    facts = {a.name: ok(sha="1", signature="A"), b.name: ok(sha="2", signature="A"), c.name: ok(sha="3", signature="C")}
    assert classify(spec(), DAY, [a, b, c], facts=facts).key_check == {a.name, b.name}


def test_nothing_new_leaves_every_file_as_remembered():
    a, b, c = file("20250608T0100", "a"), file("20250608T0200", "b"), file("20250608T0300", "c", size=7)
    known = {a.name: remembered(100, 1, "h", "duplicate", 10, duplicate_of=b.name), b.name: remembered(100, 1, "h", "loaded", 10),
             c.name: remembered(7, 1, "hc", "rejected", 0, rule="truncated"),
             "f/gone.csv": remembered(5, 1, "g", "rejected", 0, rule="x")}  # vanished without rows: no rebuild
    plan = classify(spec(), DAY, [a, b, c], known)
    assert plan.complete and not plan.rebuild
    assert outcomes(plan) == {a.name: "duplicate", b.name: "loaded", c.name: "rejected"}
    assert plan.duplicates == [(a.name, b.name)] and [r.rule for r in plan.rejected] == ["truncated"]
    assert not plan.key_check  # their rows were compared when they came
    known[c.name] = remembered(7, 2, "hc", "rejected", 0, rule="truncated")  # c changed: classified again
    assert classify(spec(), DAY, [a, b, c], known).to_read == [c]
