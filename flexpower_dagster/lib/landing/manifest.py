"""The landing manifest: what reading a file taught us, recorded once per file change, shared by every process.

Sensors (in the daemon) and staging assets (in run workers) see the same files. What one of them learns
by reading a file — its SHA-256, the delivery days it feeds, how many rows it parsed to, whether it was
rejected and by which rule — is recorded here per *fingerprint* (path, size, mtime), so the other reads it
instead of the file. For sources dated by their content (DSO and imbalance files) the sensor must parse a
file to know its days; the parsed rows are kept too (Parquet, by content hash), so the staging asset does
not parse that file again. A changed file has a new fingerprint: everything is learnt afresh.

Storage: ``<root>/<code version>/manifest.sqlite`` (SQLite in WAL mode: several processes read and write
safely, a reader never blocks the warehouse) and ``.../parsed/<source>/<sha256>.parquet``. The *code version*
is a digest of the code that parses and dates files (:func:`code_version`): after any change of a parser the
facts are learnt afresh (older versions' folders are removed). It is a cache of facts about files, not data
of record: deleting the folder costs re-reading, never correctness. Pure: no Dagster.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from flexpower_dagster.lib.landing.source import LandingFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    name TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    source TEXT, sha256 TEXT, days TEXT, n_rows INTEGER, status TEXT, rule TEXT, reason TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (name, size, mtime_ns)
);
CREATE TABLE IF NOT EXISTS loaded_feeds (
    source TEXT NOT NULL, day TEXT NOT NULL, stat TEXT NOT NULL, content TEXT NOT NULL, loaded_at TEXT NOT NULL,
    PRIMARY KEY (source, day)
);
CREATE TABLE IF NOT EXISTS sensor_states (
    system TEXT PRIMARY KEY, cursor TEXT NOT NULL, recorded_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class FileFacts:
    """What is known about one fingerprint (None = not learnt yet)."""

    sha256: str | None = None
    days: frozenset[date] | None = None
    n_rows: int | None = None
    status: str | None = None  # "loaded" or "rejected" by the last staging load that read it
    rule: str | None = None
    reason: str | None = None


def _facts(row) -> FileFacts:
    """A ``files`` row's (sha256, days, n_rows, status, rule, reason) as :class:`FileFacts`."""
    days = frozenset(date.fromisoformat(d) for d in json.loads(row[1])) if row[1] is not None else None
    return FileFacts(sha256=row[0], days=days, n_rows=row[2], status=row[3], rule=row[4], reason=row[5])


#: The code whose changes invalidate what the manifest knows: parsers, file dating, the landing library.
_PACKAGE = Path(__file__).resolve().parents[2]
_CODE_GLOBS = ("lib/landing/*.py", "lib/*parse.py", "lib/textfiles.py", "lib/errors.py",
               "defs/*/parser.py", "defs/*/sources.py", "defs/*/technical_data.py")


def code_version() -> str:
    """A digest of the code that parses and dates landing files."""
    h = hashlib.blake2b(digest_size=6)
    for pattern in _CODE_GLOBS:
        for path in sorted(_PACKAGE.glob(pattern)):
            h.update(path.relative_to(_PACKAGE).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


class Manifest:
    """The manifest under ``root`` for the current code version (created on first use)."""

    def __init__(self, root: str | Path, version: str | None = None):
        version = version or code_version()
        self.directory = Path(root) / version
        self.directory.mkdir(parents=True, exist_ok=True)
        for other in Path(root).iterdir():  # facts learnt by other code are not to be trusted
            if other.is_dir() and other.name != version:
                shutil.rmtree(other, ignore_errors=True)
        self._conn = sqlite3.connect(self.directory / "manifest.sqlite", timeout=60, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._frames: duckdb.DuckDBPyConnection | None = None
        self._frames_lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()
        if self._frames is not None:
            self._frames.close()

    def get_folder(self, folder: str) -> dict[tuple[str, int, int], FileFacts]:
        """Every recorded fingerprint under ``folder`` (a path prefix of the names), in one query: what a sensor
        needs to know about a folder's files without one lookup per file."""
        low = folder.rstrip("/") + "/"
        high = low[:-1] + chr(ord("/") + 1)
        rows = self._conn.execute(
            "SELECT name, size, mtime_ns, sha256, days, n_rows, status, rule, reason FROM files WHERE name >= ? AND name < ?",
            (low, high),
        ).fetchall()
        return {(r[0], r[1], r[2]): _facts(r[3:]) for r in rows}

    def get(self, f: LandingFile) -> FileFacts | None:
        row = self._conn.execute(
            "SELECT sha256, days, n_rows, status, rule, reason FROM files WHERE name = ? AND size = ? AND mtime_ns = ?",
            (f.name, f.size, f.mtime_ns),
        ).fetchone()
        return None if row is None else _facts(row)

    def put(self, f: LandingFile, source: str | None = None, **facts) -> None:
        """Record facts about ``f`` (``sha256``, ``days``, ``n_rows``, ``status``, ``rule``, ``reason``);
        facts not given keep what was recorded before."""
        if "days" in facts and facts["days"] is not None:
            facts["days"] = json.dumps(sorted(d.isoformat() for d in facts["days"]))
        cols = ["source", *facts]
        values = [source, *facts.values()]
        updates = ", ".join(f"{c} = coalesce(excluded.{c}, files.{c})" for c in cols)
        self._conn.execute(
            f"INSERT INTO files (name, size, mtime_ns, {', '.join(cols)}, recorded_at) "
            f"VALUES (?, ?, ?, {', '.join('?' for _ in cols)}, ?) "
            f"ON CONFLICT (name, size, mtime_ns) DO UPDATE SET {updates}, recorded_at = excluded.recorded_at",
            (f.name, f.size, f.mtime_ns, *values, datetime.now(UTC).isoformat(timespec="seconds")),
        )

    def put_many(self, records: list[tuple[LandingFile, str | None, dict]]) -> None:
        """:meth:`put` for many files in one transaction (a 1,000-asset day records ~190,000 files)."""
        if not records:
            return
        self._conn.execute("BEGIN")
        try:
            for f, source, facts in records:
                self.put(f, source, **facts)
            self._conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a failed ROLLBACK must not hide why the write failed
                self._conn.execute("ROLLBACK")
            raise

    # ---------------------------------------------------------------------------------------- loaded feeds

    def record_loaded(self, source: str, contents: dict[date, tuple[str, str]]) -> None:
        """Record that the staging table ``source`` now holds, for each day, the feed with this (stat digest, content
        digest) (``lib.landing.cursor.stat_digest`` / ``content_digest`` of the files the sensors would request for
        the day)."""
        if not contents:
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._conn.execute("BEGIN")
        try:
            self._conn.executemany(
                "INSERT INTO loaded_feeds (source, day, stat, content, loaded_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (source, day) DO UPDATE SET stat = excluded.stat, content = excluded.content, "
                "loaded_at = excluded.loaded_at",
                [(source, d.isoformat(), s, c, now) for d, (s, c) in sorted(contents.items())],
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def loaded(self, source: str) -> dict[date, tuple[str, str]]:
        """Day -> (stat digest, content digest) of the feed the staging table ``source`` last loaded (any process: a
        sensor, the CLI, a person's run in the UI): the one memory of what was loaded."""
        rows = self._conn.execute("SELECT day, stat, content FROM loaded_feeds WHERE source = ?", (source,)).fetchall()
        return {date.fromisoformat(d): (s, c) for d, s, c in rows}

    # ---------------------------------------------------------------------------------------- sensor states

    def record_sensor_state(self, system: str, cursor: str) -> None:
        """The cursor of the last full plan of ``system``'s sensor (what the zone looked like then: folder states,
        landing days, per-day digests), whatever Dagster instance ran it (:func:`~.plan.plan`)."""
        self._conn.execute(
            "INSERT INTO sensor_states (system, cursor, recorded_at) VALUES (?, ?, ?) "
            "ON CONFLICT (system) DO UPDATE SET cursor = excluded.cursor, recorded_at = excluded.recorded_at",
            (system, cursor, datetime.now(UTC).isoformat(timespec="seconds")),
        )

    def sensor_state(self, system: str) -> str | None:
        row = self._conn.execute("SELECT cursor FROM sensor_states WHERE system = ?", (system,)).fetchone()
        return None if row is None else row[0]

    # ---------------------------------------------------------------------------------------- parsed rows

    def _frame_path(self, source: str, sha256: str) -> Path:
        return self.directory / "parsed" / source / f"{sha256}.parquet"

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        """One in-memory DuckDB connection per store for the Parquet files (opening one costs ~0.1 s on a loaded
        machine, more than parsing a DSO file: it was opened per file, 943 times on a first tick)."""
        if self._frames is None:
            self._frames = duckdb.connect()
        return self._frames

    def get_frame(self, source: str, sha256: str) -> pd.DataFrame | None:
        path = self._frame_path(source, sha256)
        if not path.is_file():
            return None
        try:
            with self._frames_lock:
                return self._duckdb().execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchdf()
        except duckdb.Error:  # a damaged or foreign file is a cache miss, never an error
            return None

    def put_frame(self, source: str, sha256: str, frame: pd.DataFrame) -> None:
        path = self._frame_path(source, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with self._frames_lock:
            con = self._duckdb()
            con.register("frame", frame)
            try:
                con.execute("COPY frame TO ? (FORMAT parquet)", [str(tmp)])  # a path is a parameter, never SQL text
            finally:
                con.unregister("frame")
        tmp.replace(path)  # readers see the whole file or none

    def rows(self) -> pd.DataFrame:
        """Every recorded fingerprint (for operators: ``which files fed what``)."""
        return pd.read_sql_query("SELECT * FROM files ORDER BY name, recorded_at", self._conn)
