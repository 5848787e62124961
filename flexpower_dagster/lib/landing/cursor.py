"""The sensor cursor and the digests it is made of (pure: no Dagster).

Per source, per day: a 12-hex *stat digest* of the feed's fingerprints (name, size, mtime), a 12-hex
*content digest* of (name, size, SHA-256 of the bytes) and a generation counter; plus per source the
mtime high-water mark and an aggregate digest of all fingerprints (a tick with an unchanged aggregate
skips the source without grouping), and the unrecognised files already reported. About 60 bytes per
(source, day), independent of how many files feed a day; the JSON is zlib-compressed above a few kB.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flexpower_dagster.lib.landing.facts import IN_MEMORY, Facts
from flexpower_dagster.lib.landing.source import LandingFile

CURSOR_VERSION = 1
DIGEST_CHARS = 12
#: Cursors longer than this are stored zlib-compressed and base64-encoded (prefix ``z1:``).
COMPRESS_ABOVE = 4096
#: At most this many unrecognised file names are remembered (beyond, they are reported again).
MAX_REMEMBERED_UNRECOGNISED = 2000

_NAME = operator.attrgetter("name")
EMPTY_DIGEST = hashlib.blake2b(b"", digest_size=DIGEST_CHARS // 2).hexdigest()


@dataclass
class SourceState:
    hwm: int = 0  # highest mtime_ns seen
    agg: str = ""  # aggregate digest of all fingerprints (+ landing days for snapshots)
    days: dict[str, str] = field(default_factory=dict)  # "YYYYMMDD" -> "stat.content.gen"


@dataclass
class CursorState:
    sources: dict[str, SourceState] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)  # unrecognised files already reported
    landing_sig: str = ""  # digest of the day-defining folders' (path, mtime) when landing_days was computed
    landing_days: list[date] = field(default_factory=list)
    #: the quiet check (a tick that finds all of this unchanged requests nothing without listing a folder): per own
    #: folder its state (``Inventory.folders``), the day window the plan used, whether feeds were left pending,
    #: and how many files the plan saw
    folders: dict[str, list[int]] = field(default_factory=dict)
    window: list[str] = field(default_factory=list)
    pending: bool = False
    n_files: int = 0

    def encode(self) -> str:
        raw = json.dumps(
            {
                "v": CURSOR_VERSION,
                "s": {n: {"h": s.hwm, "a": s.agg, "d": s.days} for n, s in sorted(self.sources.items())},
                "u": sorted(self.reported)[:MAX_REMEMBERED_UNRECOGNISED],
                "l": [self.landing_sig, encode_days(self.landing_days)],
                "q": {"f": self.folders, "w": self.window, "p": self.pending, "n": self.n_files},
            },
            separators=(",", ":"),
        )
        if len(raw) <= COMPRESS_ABOVE:
            return raw
        return "z1:" + base64.b64encode(zlib.compress(raw.encode(), 6)).decode()

    @classmethod
    def decode(cls, cursor: str | None) -> CursorState:
        if not cursor:
            return cls()
        try:
            raw = zlib.decompress(base64.b64decode(cursor[3:])).decode() if cursor.startswith("z1:") else cursor
            data = json.loads(raw)
            if data.get("v") != CURSOR_VERSION:
                return cls()
            return cls(
                sources={n: SourceState(hwm=s["h"], agg=s["a"], days=dict(s["d"])) for n, s in data["s"].items()},
                reported=list(data.get("u", [])),
                landing_sig=data["l"][0],
                landing_days=decode_days(data["l"][1]),
                folders={k: list(v) for k, v in data.get("q", {}).get("f", {}).items()},
                window=list(data.get("q", {}).get("w", [])),
                pending=bool(data.get("q", {}).get("p", False)),
                n_files=int(data.get("q", {}).get("n", 0)),
            )
        except (ValueError, KeyError, TypeError, zlib.error):
            # An unreadable cursor (older format) means a full re-evaluation: run keys keep it idempotent.
            return cls()


def encode_days(days: Iterable[date]) -> list[str]:
    """Sorted days as ranges: ["20250601-20250614", "20250701"]."""
    out: list[str] = []
    run: list[date] = []
    for d in sorted(days):
        if run and d == run[-1] + timedelta(days=1):
            run.append(d)
            continue
        if run:
            out.append(day_key(run[0]) + ("" if len(run) == 1 else "-" + day_key(run[-1])))
        run = [d]
    if run:
        out.append(day_key(run[0]) + ("" if len(run) == 1 else "-" + day_key(run[-1])))
    return out


def decode_days(ranges: Iterable[str]) -> list[date]:
    days: list[date] = []
    for r in ranges:
        a, _, b = r.partition("-")
        first, last = parse_day_key(a), parse_day_key(b or a)
        days.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def day_key(d: date) -> str:
    return d.strftime("%Y%m%d")


def parse_day_key(k: str) -> date:
    return date(int(k[:4]), int(k[4:6]), int(k[6:8]))


def digest(parts: Iterable[str]) -> str:
    h = hashlib.blake2b(digest_size=DIGEST_CHARS // 2)
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def stat_digest(files: Sequence[LandingFile]) -> str:
    return digest(f.stat_key for f in sorted(files, key=_NAME)) if files else EMPTY_DIGEST


def content_digest(files: Sequence[LandingFile], facts: Facts = IN_MEMORY) -> str:
    """Digest of (name, size, SHA-256) of ``files``; a hash not known yet (:class:`Facts`) is computed, once."""
    if not files:
        return EMPTY_DIGEST
    facts.prefetch(files)
    return digest(f"{f.name}|{f.size}|{facts.sha256(f)}" for f in sorted(files, key=_NAME))


def aggregate_digest(files: Sequence[LandingFile], extra: str = "") -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update(extra.encode())
    h.update("".join([f"{f.stat_key}\0" for f in files]).encode())  # the same bytes as one update per file
    return h.hexdigest()
