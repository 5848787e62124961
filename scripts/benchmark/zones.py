"""N-asset landing zones written by the project's demo generator, cached and reused.

A zone is ``build/benchmark/zones/<N>/landing`` (``<N>-<days>d`` for more than one day) plus
``zone.json``: the generator's arguments, the number of files and bytes. A zone whose ``zone.json``
matches the requested arguments and whose file count is unchanged is reused; anything else is deleted
and generated again through the generator's CLI (``python -m flexpower_dagster.demo``), the public
entry point a user would run. Measurements that add files to a zone (:mod:`.incremental`) list them in
``added.json`` first, so an interrupted benchmark leaves a zone that :func:`ensure_zone` can restore.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = PROJECT_ROOT / "build" / "benchmark"
ZONES_DIR = BUILD_DIR / "zones"
#: The delivery day every measurement is about (the sample's day; the demo reproduces its quirks).
DAY = date(2025, 6, 8)
SEED = 42


@dataclass(frozen=True)
class Zone:
    """A generated landing zone: ``landing`` is what FLEXPOWER_LANDING_DIR points at."""

    assets: int
    start: str  # first delivery day, YYYY-MM-DD
    days: int
    seed: int
    files: int
    bytes: int
    generate_seconds: float
    folder: str

    @property
    def landing(self) -> Path:
        return Path(self.folder) / "landing"

    @property
    def delivery_days(self) -> list[date]:
        first = date.fromisoformat(self.start)
        return [first + timedelta(days=i) for i in range(self.days)]

    def args(self) -> dict:
        return {"assets": self.assets, "start": self.start, "days": self.days, "seed": self.seed}


def zone_folder(n_assets: int, days: int = 1, root: Path = ZONES_DIR) -> Path:
    return root / (str(n_assets) if days == 1 else f"{n_assets}-{days}d")


def count_files(landing: Path) -> tuple[int, int]:
    """(files, bytes) of the landing files under ``landing`` (not hidden ones: the demo's settings file)."""
    n = size = 0
    for dirpath, _, names in os.walk(landing):
        for name in names:
            if name.startswith("."):
                continue
            n += 1
            size += os.stat(os.path.join(dirpath, name)).st_size
    return n, size


def restore_added(folder: Path) -> int:
    """Delete the files a measurement added to the zone (listed in ``added.json``); returns how many."""
    listing = folder / "added.json"
    if not listing.exists():
        return 0
    removed = 0
    for rel in json.loads(listing.read_text()):
        path = folder / "landing" / rel
        if path.exists():
            path.unlink()
            removed += 1
    listing.unlink()
    return removed


def ensure_zone(
    n_assets: int,
    start: date = DAY,
    days: int = 1,
    seed: int = SEED,
    root: Path = ZONES_DIR,
    python: str = sys.executable,
    log=print,
) -> Zone:
    """The zone of ``n_assets`` assets over ``days`` delivery days from ``start``, generated when missing."""
    folder = zone_folder(n_assets, days, root)
    meta = folder / "zone.json"
    wanted = {"assets": n_assets, "start": start.isoformat(), "days": days, "seed": seed}
    restore_added(folder)
    if meta.exists():
        zone = Zone(**json.loads(meta.read_text()))
        if zone.args() == wanted and count_files(zone.landing)[0] == zone.files:
            log(f"zone {n_assets} assets x {days} day(s): reusing {zone.files:,} files in {zone.landing}")
            return zone
        log(f"zone {folder} does not match {wanted}: generating it again")
    shutil.rmtree(folder, ignore_errors=True)
    landing = folder / "landing"
    landing.mkdir(parents=True)
    log(f"zone {n_assets} assets x {days} day(s): generating into {landing} ...")
    t0 = time.perf_counter()
    subprocess.run(
        [python, "-m", "flexpower_dagster.demo", "--out", str(landing), "--assets", str(n_assets),
         "--start", start.isoformat(), "--days", str(days), "--seed", str(seed)],
        check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    files, size = count_files(landing)
    zone = Zone(n_assets, start.isoformat(), days, seed, files, size, round(seconds, 1), str(folder))
    meta.write_text(json.dumps(asdict(zone), indent=2) + "\n")
    log(f"  {files:,} files, {size / 1e9:.2f} GB in {seconds:.0f} s")
    return zone
