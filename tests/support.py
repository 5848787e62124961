"""Plain test helpers shared by every test package (import as ``from support import ...``;
``tests/`` is on ``pythonpath`` in pyproject.toml). Fixtures live in ``tests/conftest.py``."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.settings import PROJECT_ROOT, Settings

SAMPLE_DIR = (PROJECT_ROOT / ".." / "shared" / "datasets" / "flexpower-2025-06-08").resolve()
SAMPLE_DAY = "2025-06-08"
SAMPLE_MONTH = "2025-06-01"
#: The key of ``contracts_dependant_probe``.
CONTRACTS_PROBE = ("test", "contracts_dependant_probe")
#: Debian's Chromium: the browser tests never download one (make setup-browser installs it).
CHROMIUM = Path("/usr/bin/chromium")
#: Where browser tests write screenshots: build/screenshots/ (ignored by git), docs/screenshots/ for `make screenshots`.
SCREENSHOTS = Path(os.environ.get("FLEXPOWER_SCREENSHOTS_DIR") or PROJECT_ROOT / "build" / "screenshots")


def resources_for(landing: Path, warehouse: Path, data_dir: Path | None = None) -> dict:
    return build_resources(Settings(landing_dir=landing, warehouse=warehouse, data_dir=data_dir or warehouse.parent / "data"))


GOLDEN_DIR = PROJECT_ROOT / "tests" / "golden"
#: A small demo landing zone for the checksum test: the five sample assets and three synthetic ones
#: (all price and fee models), two days around the sample day; its delivery day is SAMPLE_DAY.
DEMO_CASE = {"n_assets": 8, "start": "2025-06-07", "days": 2, "seed": 42, "public_trades_per_day": 2000}
#: marts tables whose rows are run metadata, not figures (compared by tests of their own)
CHECKSUM_EXCLUDED_TABLES = ("data_quality_results",)


def materialize_day(settings: Settings, day: str, exclude: tuple[str, ...] = ("report_site",), raise_on_error: bool = True,
                    extra_assets=(), only=None):
    """Materialise every asset tagged cadence=daily (minus ``exclude``) for ``day`` with the full definitions
    (plus ``extra_assets``, test assets tagged daily). ``only``: just these asset keys ("staging/crm_contracts",
    ...) or this selection (``month_inputs()``), for a test that needs only what its assertions read."""
    import dagster as dg

    from flexpower_dagster.definitions import build_definitions

    defs = build_definitions(settings)
    if extra_assets:
        defs = dg.Definitions.merge(defs, dg.Definitions(assets=list(extra_assets)))
    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.tag("cadence", "daily") - dg.AssetSelection.assets(*exclude)
    if isinstance(only, dg.AssetSelection):
        selection = selection & only
    elif only is not None:
        selection = selection & dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in only))
    keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
    if only is not None and not isinstance(only, dg.AssetSelection):
        assert len(keys) == len(only), f"not daily assets: {sorted(set(only) - {k.to_user_string() for k in keys})}"
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        return job.execute_in_process(
            partition_key=day, asset_selection=keys, instance=instance, raise_on_error=raise_on_error
        )


@dataclass(frozen=True)
class Built:
    """A warehouse materialised once per test session (tests/conftest.py) and the run that built it.

    Read-only for tests: a test that writes works on ``copy(...)``. The session checks at its end that the file
    is unchanged (``fingerprint``)."""

    settings: Settings
    result: object  # dagster.ExecuteInProcessResult (its events stay readable after the run's instance is gone)

    def copy(self, root: Path, landing: Path | None = None, data: bool = False) -> Settings:
        """Writable settings under ``root``: a copy of the warehouse file, the data dir copied too when ``data``
        (invoice files, outbox), and ``landing`` instead of the read-only landing zone when given."""
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.settings.warehouse, root / "warehouse.duckdb")
        if data and self.settings.data_dir.is_dir():
            shutil.copytree(self.settings.data_dir, root / "data")
        return Settings(landing_dir=landing or self.settings.landing_dir, warehouse=root / "warehouse.duckdb",
                        data_dir=root / "data")


def fingerprint(path: Path) -> str:
    """sha256 of a file: a session warehouse must end the session as it began."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def contracts_dependant_probe():
    """A daily test asset reading marts/contracts_in_force and nothing else: it stands in for anything that reads
    the contracts in the same run (e.g. invoicing); the sample day's run must not hold it back."""
    import dagster as dg

    from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions

    @dg.asset(key=CONTRACTS_PROBE, deps=[dg.AssetKey(["marts", "contracts_in_force"])], partitions_def=daily_partitions,
              tags=DAILY_TAGS)
    def probe() -> None:
        """Stands in for anything reading marts/contracts_in_force in the same run (e.g. invoicing)."""

    return probe


def month_inputs():
    """The daily assets the monthly ones read, directly or not: a day built only for its month's invoices."""
    import dagster as dg

    monthly = dg.AssetSelection.tag("cadence", "monthly")
    return monthly.upstream() - monthly


def demo_landing(out: Path) -> Path:
    """Generate the DEMO_CASE landing zone into ``out`` (deterministic: same bytes every time)."""
    from datetime import date

    from flexpower_dagster.demo import generate

    case = dict(DEMO_CASE, start=date.fromisoformat(DEMO_CASE["start"]))
    generate(out, **case)
    return out


def materialize_month(settings: Settings, month: str, raise_on_error: bool = True):
    """Materialise every asset tagged cadence=monthly for the month partition ``month`` (YYYY-MM-01)."""
    import dagster as dg

    from flexpower_dagster.definitions import build_definitions

    defs = build_definitions(settings)
    keys = dg.AssetSelection.tag("cadence", "monthly").resolve(defs.resolve_asset_graph())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        return job.execute_in_process(
            partition_key=month, asset_selection=sorted(keys, key=lambda k: k.to_user_string()), instance=instance,
            raise_on_error=raise_on_error,
        )


def sample_checksums(warehouse: Path, reference: dict | None = None) -> dict:
    """Checksums of every marts table (see flexpower_dagster.lib.checksums) of a warehouse file."""
    import duckdb

    from flexpower_dagster.lib.checksums import schema_checksums

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return schema_checksums(conn, "marts", reference=reference, exclude_tables=CHECKSUM_EXCLUDED_TABLES)


def all_suites():
    """Every data-quality suite declared in the domain folders (module-level ``Suite`` objects)."""
    import importlib
    import pkgutil

    import flexpower_dagster.defs as defs_package
    from flexpower_dagster.lib.quality.suites import Suite

    found: dict[tuple[str, str], Suite] = {}
    for info in pkgutil.walk_packages(defs_package.__path__, prefix="flexpower_dagster.defs."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Suite):
                found.setdefault(value.asset, value)
    return sorted(found.values(), key=lambda s: s.name)


def staging_asset(name: str):
    """The staging asset of one landing source, as its domain's ``LandingSource`` component builds it."""
    from flexpower_dagster.definitions import landing_components
    from flexpower_dagster.lib.dagster.staging import build_staging_asset

    for component in landing_components():
        for source in component.sources:
            if source.spec.name == name:
                return build_staging_asset(source)
    raise KeyError(name)


def source_spec(name: str):
    """The ``SourceSpec`` of one landing source."""
    from flexpower_dagster.definitions import landing_sources

    return next(s for s in landing_sources() if s.name == name)
