"""The one memory of what was loaded, through the file facts (docs/automation.md): after a load recorded its feeds,
a sensor that never saw them requests nothing, comparing stat digests without reading a file; a re-delivered
identical file (new mtime, same bytes) is compared by content, each file hashed at most once."""

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.definitions import landing_sources
from flexpower_dagster.lib.dagster.resources import LandingZone
from flexpower_dagster.lib.dagster.staging import remember_loaded
from flexpower_dagster.lib.landing import facts as facts_module
from flexpower_dagster.lib.landing.facts import clear_caches, facts_at
from flexpower_dagster.lib.landing.files import scan

from sensor_helpers import SENSORS, drop, touch

DAYS = [date(2025, 6, 7), date(2025, 6, 8)]


@pytest.fixture
def zone(sample_dir, tmp_path: Path):
    landing = tmp_path / "landing"
    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    return landing, LandingZone(root=str(landing), manifest_dir=str(tmp_path / "manifest"))


def tick(zone_resource: LandingZone, cursor=None):
    result = SENSORS["exchange"](dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources={"landing": zone_resource}))
    return list(result.run_requests or []), result.skip_reason.skip_message if result.skip_reason else None


def load_everything(landing: Path, resource: LandingZone) -> None:
    """What a staging run of every exchange source records once its transaction committed."""
    specs = [s for s in landing_sources() if s.system == "exchange"]
    inventory = scan(landing, specs)
    for spec in specs:
        remember_loaded(resource.facts(), spec, inventory.files[spec.name], DAYS)


def test_feeds_a_run_loaded_are_not_requested_and_no_file_is_read(zone, monkeypatch):
    landing, resource = zone
    load_everything(landing, resource)
    clear_caches()  # the sensor runs in another process

    def no_reading(f):
        raise AssertionError(f"the sensor read {f.name}")

    monkeypatch.setattr(facts_module, "_file_sha256", no_reading)
    reqs, skip = tick(resource)
    assert reqs == [] and "already loaded" in skip


def test_an_identical_redelivery_after_a_load_is_recognised_by_content(zone):
    landing, resource = zone
    load_everything(landing, resource)
    clear_caches()
    [private] = list((landing / "exchange").glob("Private_Trades-*"))
    touch(private)  # the same bytes again, a new mtime: the stat digest differs, the content does not
    reqs, skip = tick(resource)
    assert reqs == [] and "already loaded" in skip
    private.write_text(private.read_text().replace("\n", "\n\n", 1))  # different bytes: a run
    touch(private)
    reqs, _ = tick(resource)
    assert [r.partition_key for r in reqs] == ["2025-06-08"]
    # what the tick learnt is known to every process: the changed file's hash is in the store
    clear_caches()
    [changed] = scan(landing, [s for s in landing_sources() if s.name == "exchange_private_trades"]).files["exchange_private_trades"]
    assert facts_at(resource.manifest_dir).of(changed).sha256
