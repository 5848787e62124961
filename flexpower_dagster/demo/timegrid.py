"""Time grid, seeding and formatting helpers shared by the demo generators.

Instants are int64 seconds since the Unix epoch (UTC) inside the generator; every formatter turns
them into the exact text a source system writes.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

QH = 900  # seconds in a quarter-hour
MINUTE = 60
DAY = 86_400
BERLIN = ZoneInfo("Europe/Berlin")


def rng_for(seed: int, component: str, *keys: int) -> np.random.Generator:
    """An independent random stream per (seed, component, keys): adding assets or days never changes
    the numbers drawn for the others."""
    return np.random.default_rng([int(seed), zlib.crc32(component.encode()), *[int(k) for k in keys]])


def epoch(d: date | datetime) -> int:
    if isinstance(d, datetime):
        return int(d.replace(tzinfo=UTC).timestamp()) if d.tzinfo is None else int(d.timestamp())
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def to_dt(t: int | float) -> datetime:
    return datetime.fromtimestamp(int(t), tz=UTC).replace(tzinfo=None)


def local_day_bounds(d: date) -> tuple[int, int]:
    """UTC epoch bounds of the German local day ``d`` (22:00Z-22:00Z in summer, 23:00Z in winter)."""
    start = datetime(d.year, d.month, d.day, tzinfo=BERLIN)
    nxt = d + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=BERLIN)
    return int(start.timestamp()), int(end.timestamp())


@dataclass(frozen=True)
class Window:
    """The demo's delivery days and the simulated time span around them."""

    start: date
    days: int

    @property
    def delivery_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def end(self) -> date:  # first day after the window
        return self.start + timedelta(days=self.days)

    @property
    def sim_start(self) -> int:
        """Physics start: the day before the window (first forecast versions, first live file)."""
        return epoch(self.start - timedelta(days=1))

    @property
    def sim_end(self) -> int:
        """Physics end: 48 h after the last forecast version."""
        return epoch(self.end + timedelta(days=2))


# ---------------------------------------------------------------------------------------------
# vectorised text formatting


def fmt_utc(ts: np.ndarray, pattern: str) -> np.ndarray:
    """Format epoch seconds with a numpy datetime64 ISO string, then a pattern of pieces.

    ``pattern`` keys: 'dso' -> ``2025-06-08 00:00:00.000000 UTC``; 'iso_z' -> ``2025-06-08T00:00:00Z``;
    'trade' -> ``2025-06-08 00:00:00+00:00``.
    """
    iso = np.datetime_as_string(np.asarray(ts, dtype="int64").astype("datetime64[s]"), unit="s")
    iso = np.char.replace(iso, "T", " ") if pattern != "iso_z" else iso
    if pattern == "dso":
        return np.char.add(iso, ".000000 UTC")
    if pattern == "iso_z":
        return np.char.add(iso, "Z")
    if pattern == "trade":
        return np.char.add(iso, "+00:00")
    raise ValueError(pattern)


def fmt_exec_time(us: np.ndarray) -> np.ndarray:
    """Trade execution instants (epoch microseconds): ``2025-06-07 15:03:44.509000+00:00``; the
    fractional part is left out when it is zero (a quirk of the exchange export)."""
    us = np.asarray(us, dtype="int64")
    sec = us // 1_000_000
    frac = us % 1_000_000
    base = np.char.replace(np.datetime_as_string(sec.astype("datetime64[s]"), unit="s"), "T", " ")
    frac_txt = np.char.add(".", np.char.zfill(frac.astype(str), 6))
    frac_txt = np.where(frac == 0, "", frac_txt)
    return np.char.add(np.char.add(base, frac_txt), "+00:00")


def fmt_floats(values: np.ndarray) -> list[str]:
    """Python's shortest round-trip repr of each float (what ``json``/``str`` write)."""
    return [repr(v) for v in np.asarray(values, dtype="float64").tolist()]


def fmt_decimal_comma(values: np.ndarray, decimals: int = 2) -> np.ndarray:
    txt = np.char.mod(f"%.{decimals}f", np.asarray(values, dtype="float64"))
    txt = np.where(txt == f"-{0:.{decimals}f}", f"{0:.{decimals}f}", txt)
    return np.char.replace(txt, ".", ",")


#: Files written by the current :func:`flexpower_dagster.demo.generate` call (their times are set at the end).
WRITTEN: list = []


def write_text(path, text: str) -> None:
    """Write like a well-behaved source system: to ``<name>.tmp``, then rename (the landing zone's completion
    convention, docs/hardening.md), so no scan ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)
    WRITTEN.append(path)
