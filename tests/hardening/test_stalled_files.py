"""A stalled, half-written file is never read as complete (issue 22, item 4), on a temporary copy of the sample day:
the completed-file signal (``<file>.done`` markers) and the content rules for files that come without a signal
(a shrunk trade export, a DSO day with too few quarter-hours, a forecast short of its horizon)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from flexpower_dagster.lib.landing.files import DONE_SUFFIX, scan

from support import source_spec

PRIVATE = "exchange/Private_Trades-20250608-20250609T000516000Z.csv"
PUBLIC = "exchange/Public_Trades-20250608-20250609T000516000Z.csv"


@pytest.fixture
def landing(tmp_path, sample_dir) -> Path:
    root = tmp_path / "landing"
    shutil.copytree(sample_dir, root)
    return root


def _names(landing: Path, spec) -> list[str]:
    return [f.name for f in scan(landing, [spec]).files[spec.name]]


# the completed-file signal ------------------------------------------------------------------------

def test_a_folder_without_markers_keeps_todays_rule(landing):
    spec = source_spec("exchange_private_trades")
    assert _names(landing, spec) == [PRIVATE]


def test_in_a_folder_with_markers_a_file_waits_for_its_marker(landing):
    spec = source_spec("exchange_private_trades")
    newer = PRIVATE.replace("20250609T000516000Z", "20250609T010000000Z")
    (landing / newer).write_bytes((landing / PRIVATE).read_bytes())
    old = 1_700_000_000
    os.utime(landing / newer, (old, old))
    (landing / (PRIVATE + DONE_SUFFIX)).touch()  # the provider marks its finished files: the folder uses markers
    inventory = scan(landing, [spec])
    assert [f.name for f in inventory.files[spec.name]] == [PRIVATE]
    assert newer in inventory.waiting  # no marker yet: not read, however long it has been quiet
    assert not [n for n in inventory.unmatched if n.endswith(DONE_SUFFIX)]  # markers are signals, not strays
    (landing / (newer + DONE_SUFFIX)).touch()
    assert _names(landing, spec) == [PRIVATE, newer]


def test_a_marker_older_than_its_file_belongs_to_an_earlier_version(landing):
    spec = source_spec("exchange_private_trades")
    marker = landing / (PRIVATE + DONE_SUFFIX)
    marker.touch()
    os.utime(marker, (1_600_000_000, 1_600_000_000))  # the file was rewritten after its marker
    assert _names(landing, spec) == []
    marker.touch()
    assert _names(landing, spec) == [PRIVATE]


def test_a_source_declared_with_markers_waits_for_the_first_one(landing):
    spec = dataclasses.replace(source_spec("exchange_public_trades"), done_markers=True)
    assert _names(landing, spec) == []
    (landing / (PUBLIC + DONE_SUFFIX)).touch()
    assert _names(landing, spec) == [PUBLIC]
