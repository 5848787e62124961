"""Dagster resources built from :class:`~flexpower_dagster.settings.Settings`.

Assets never read the environment: they receive the landing zone and the warehouse as resources,
so tests pass temporary directories and DuckDB files.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from flexpower_dagster.lib import warehouse
from flexpower_dagster.lib.dagster.io_manager import WarehouseIOManager
from flexpower_dagster.lib.landing.facts import Facts, facts_at
from flexpower_dagster.settings import DEFAULT_ALERT_EMAIL, DEFAULT_UI_URL, Settings


class LandingZone(ConfigurableResource):
    """The landing directory where source systems drop their files (``FLEXPOWER_LANDING_DIR``), and the
    landing manifest where sensors, staging and the CLI share what reading a file taught (``manifest_dir``)."""

    root: str
    manifest_dir: str | None = None
    #: a file changed less than this many seconds ago may still be being written: it waits
    settle_seconds: float = 0.0

    @property
    def path(self) -> Path:
        return Path(self.root)

    def facts(self) -> Facts:
        """What is known about the landing files: this process's cache in front of the manifest (one SQLite
        connection per folder and process; none without ``manifest_dir``)."""
        return facts_at(self.manifest_dir)


class Warehouse(ConfigurableResource):
    """The DuckDB warehouse file (``FLEXPOWER_WAREHOUSE``) for direct SQL (side tables, reports)."""

    path: str
    #: how long to wait while another process holds the file, then fail naming it (docs/hardening.md)
    lock_wait_seconds: float = warehouse.LOCK_WAIT_SECONDS

    def connect(self, read_only: bool = False, log: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
        return warehouse.connect(self.path, read_only=read_only, wait_seconds=self.lock_wait_seconds, log=log)


class WarehouseSnapshot(ConfigurableResource):
    """The read-only copy of the warehouse that ``warehouse_snapshot`` writes (``<warehouse dir>/snapshot.duckdb``).

    What the site builds (``report_site``, ``audience_sites``: pool ``site``, docs/automation.md "Concurrency") read
    instead of the live warehouse, which they never get: they run beside the warehouse writer."""

    path: str

    def connect(self, log: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the copy (many readers at once; never a lock on the live warehouse)."""
        if not Path(self.path).exists():
            raise FileNotFoundError(f"no warehouse snapshot at {self.path}: the warehouse_snapshot asset writes it")
        return warehouse.connect(self.path, read_only=True, log=log)


class DataDir(ConfigurableResource):
    """Directory for generated artefacts (invoices, outbox, GX data docs)."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)


class ReportSite(ConfigurableResource):
    """The published report site (``FLEXPOWER_SITE_DIR``): where the trading desk's data file is rewritten after
    each position update. ``build_dir`` None: no file is written (tests that do not look at it). ``sites_dir``: the
    audience sites (``<data dir>/sites``, docs/permissions.md); the file is rewritten in each one that has the desk
    page too."""

    build_dir: str | None = None
    sites_dir: str | None = None

    @property
    def path(self) -> Path | None:
        return Path(self.build_dir) if self.build_dir else None

    def audience_sites(self, page: str) -> list[Path]:
        """The published audience sites that have ``page`` (e.g. ``desk``: ``<site>/desk/index.html``)."""
        if not self.sites_dir or not Path(self.sites_dir).is_dir():
            return []
        return sorted(p for p in Path(self.sites_dir).iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / page / "index.html").is_file())


class Alerting(ConfigurableResource):
    """Where alerts go and which clock they use (docs/operations.md): ``now`` (ISO, UTC) replays history as
    if it were that moment; the webhook is optional; e-mails go to the operations outbox addressed to ``email``."""

    now: str | None = None
    webhook_url: str | None = None
    email: str = DEFAULT_ALERT_EMAIL
    ui_url: str = DEFAULT_UI_URL

    def clock(self) -> datetime:
        """Naive UTC."""
        return datetime.fromisoformat(self.now) if self.now else datetime.now(UTC).replace(tzinfo=None)


def build_resources(settings: Settings) -> dict:
    """The resource dict for a given set of settings (used by the definitions and by tests)."""
    return {
        "landing": LandingZone(
            root=str(settings.landing_dir),
            manifest_dir=str(settings.data_dir / "landing_manifest"),
            settle_seconds=settings.settle_seconds,
        ),
        "warehouse": Warehouse(path=str(settings.warehouse), lock_wait_seconds=settings.lock_wait_seconds),
        # defs/warehouse/snapshot.snapshot_path (tests/sensors/test_lanes.py keeps the two equal)
        "snapshot": WarehouseSnapshot(path=str(Path(settings.warehouse).with_name("snapshot.duckdb"))),
        "data_dir": DataDir(root=str(settings.data_dir)),
        "site": ReportSite(build_dir=str(settings.site_dir) if settings.site_dir else None,
                           sites_dir=str(settings.data_dir / "sites") if settings.site_dir else None),
        "alerting": Alerting(
            now=settings.now.isoformat() if settings.now else None,
            webhook_url=settings.alert_webhook_url,
            email=settings.alert_email,
            ui_url=settings.ui_url,
        ),
        "io_manager": WarehouseIOManager(database=str(settings.warehouse), lock_wait_seconds=settings.lock_wait_seconds),
    }
