"""Hardening issue 22, item 7: a failure names its underlying cause and path in one line — the CLI's per-run
failure line (``run_all._failure_text``) and the run-failure alert (``defs/ops/runs.run_failure_findings``) —
never "Error occurred while executing op ..." or "cannot rollback - no transaction is active".

Tests run as root, where ``chmod`` does not stop a write: a data dir that cannot be created is simulated with
a path whose parent is a regular file (``NotADirectoryError``), and ``Permission denied`` / a full disk with
monkeypatched writes raising the ``OSError`` the kernel would raise."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import sys

import dagster as dg
import pytest
from dagster._utils.error import serializable_error_info_from_exc_info

from flexpower_dagster.defs.ops.runs import run_failure_findings
from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.lib.failures import failure_line
from flexpower_dagster.lib.landing import manifest as manifest_module
from flexpower_dagster.run_all import _failure_text
from flexpower_dagster.settings import Settings

from support import SAMPLE_DAY, staging_asset


def _failed_run(settings: Settings, instance) -> dg.ExecuteInProcessResult:
    assets = [staging_asset("crm_contracts"), staging_asset("imbalance_price_final")]
    result = dg.materialize(assets, partition_key=SAMPLE_DAY, resources=build_resources(settings), instance=instance,
                            raise_on_error=False)
    assert not result.success
    return result


def _lines(result, instance) -> tuple[list[str], list[str]]:
    cli = [_failure_text(e) for e in result.all_events if e.is_step_failure]
    alerts = [f.message for f in run_failure_findings(instance)]
    return cli, alerts


@pytest.fixture
def landing(tmp_path, sample_dir):
    root = tmp_path / "landing"
    shutil.copytree(sample_dir, root)
    return root


def test_a_data_dir_that_cannot_be_created_is_named_with_its_cause(tmp_path, landing):
    (tmp_path / "not-a-dir").write_text("a regular file where a folder should be")
    data_dir = tmp_path / "not-a-dir" / "data"
    settings = Settings(landing_dir=landing, warehouse=tmp_path / "w.duckdb", data_dir=data_dir)
    with dg.instance_for_test() as instance:
        cli, alerts = _lines(_failed_run(settings, instance), instance)
    assert cli and alerts
    for line in cli + alerts:
        assert "NotADirectoryError: [Errno 20] Not a directory: '" + str(data_dir) in line, line
        assert "Error occurred while executing op" not in line and "\n" not in line


def test_permission_denied_is_named_with_its_path(tmp_path, landing, monkeypatch):
    settings = Settings(landing_dir=landing, warehouse=tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    denied = settings.data_dir / "landing_manifest"

    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(denied))

    monkeypatch.setattr(manifest_module.Manifest, "__init__", refuse)  # what a read-only data dir raises
    with dg.instance_for_test() as instance:
        cli, alerts = _lines(_failed_run(settings, instance), instance)
    expected = f"PermissionError: [Errno 13] Permission denied: '{denied}'"
    assert cli and all(line.endswith(expected) for line in cli), cli
    assert alerts and all(expected in m for m in alerts), alerts


def test_a_full_disk_is_not_hidden_by_the_failed_rollback():
    """The shape of the incident: the write fails (ENOSPC), the ROLLBACK in the except block fails too
    ("cannot rollback - no transaction is active"); the line names the full disk and its path."""
    conn = sqlite3.connect(":memory:")
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/srv/data/landing_manifest/manifest.sqlite")
        except OSError:
            conn.execute("ROLLBACK")  # raises sqlite3.OperationalError, its __context__ is the OSError
    except sqlite3.OperationalError as exc:
        assert "cannot rollback" in str(exc)
        info = serializable_error_info_from_exc_info(sys.exc_info())
        python_line, dagster_line = failure_line(exc), failure_line(info)
    expected = "OSError: [Errno 28] No space left on device: '/srv/data/landing_manifest/manifest.sqlite'"
    assert python_line == dagster_line == expected


def test_a_failed_rollback_no_longer_replaces_the_error(tmp_path, monkeypatch):
    """The manifest's transaction re-raises the write's own error (the failed ROLLBACK is suppressed)."""
    m = manifest_module.Manifest(tmp_path / "manifest")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "manifest"))

    monkeypatch.setattr(m, "put", full)
    with pytest.raises(OSError, match="No space left on device"):
        m.put_many([(object(), "src", {})])


def test_without_an_os_error_the_innermost_error_is_named():
    try:
        try:
            raise KeyError("contract_id")
        except KeyError as exc:
            raise RuntimeError("Error occurred while executing op x") from exc
    except RuntimeError as exc:
        assert failure_line(exc) == "KeyError: 'contract_id'"
