"""DuckLake: the second warehouse backend (pure: DuckDB only, no Dagster, no domain; docs/scaling.md).

The default warehouse is one embedded DuckDB file: one writer process at a time. A DuckLake keeps its catalog
in Postgres (tables, snapshots, which Parquet files hold which rows) and its data as Parquet files under a data
path, so several processes read and write at once, each transaction on a consistent snapshot.

``FLEXPOWER_WAREHOUSE`` names a DuckLake by a *descriptor*: a small TOML file whose name ends in
:data:`DESCRIPTOR_SUFFIX` (``make cluster`` writes ``data/warehouse/flexpower.ducklake.toml``)::

    catalog = "postgres:dbname=flexpower_catalog host=/abs/data/postgres/run user=flexpower passfile=/abs/data/postgres/pgpass"
    data_path = "/abs/data/lake"

``metadata_schema`` (optional) is the Postgres schema of the catalog tables (several lakes in one database: the
tests). ``catalog`` is DuckLake's metadata location (``postgres:<libpq connection string>``, or a DuckDB file for a
single-process lake); the password is never in it: libpq reads it from the ``passfile`` (generated, under
``data/``, mode 0600). Every other module keeps passing the warehouse as a path: :func:`is_lake` tells the two
apart, :func:`flexpower_dagster.lib.warehouse.connect` opens either.

The DuckLake and Postgres extensions come from the pip packages ``duckdb-ext-ducklake`` and
``duckdb-ext-postgres`` (built for the pinned DuckDB): they are loaded from the installed files, and
automatic installation and loading are off, so nothing is ever downloaded at run time.
"""

from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flexpower_dagster.lib.sql import quote, sql_string

#: A warehouse path with this suffix is a DuckLake descriptor, any other a DuckDB file.
DESCRIPTOR_SUFFIX = ".ducklake.toml"
#: The name the lake is attached under (``USE``d, so the SQL of staging and marts reads ``staging.x`` unchanged).
ALIAS = "lake"
#: Extensions the lake needs, in load order (file names in the ``duckdb_ext`` packages).
EXTENSIONS = ("postgres_scanner", "ducklake")
#: No extension is ever installed or loaded behind our back: both are loaded from the pip packages' files.
CONFIG: dict[str, object] = {
    "custom_user_agent": "dagster",
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
#: How often a commit that conflicts with another writer's (DuckLake's own retry exhausted) is tried again.
DUCKLAKE_MAX_RETRIES = 15  # 0.1 s, then x1.5 each time: about 90 s in all

_BASES: dict[tuple[int, str], duckdb.DuckDBPyConnection] = {}
_BASES_LOCK = threading.Lock()  # two threads opening the lake at once share one instance


class LakeConfigError(ValueError):
    """A DuckLake descriptor that cannot be used (names the file and the key)."""


@dataclass(frozen=True)
class LakeConfig:
    """A parsed descriptor."""

    descriptor: Path
    catalog: str
    data_path: Path
    metadata_schema: str | None = None

    @property
    def attach_target(self) -> str:
        return "ducklake:" + self.catalog


def is_lake(database: str | os.PathLike) -> bool:
    """True when ``database`` names a DuckLake descriptor rather than a DuckDB file."""
    return os.fspath(database).endswith(DESCRIPTOR_SUFFIX)


def parse_descriptor(text: str, descriptor: Path) -> LakeConfig:
    """The descriptor's settings; a missing or wrong key is a :class:`LakeConfigError` naming file and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LakeConfigError(f"{descriptor}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"catalog", "data_path", "metadata_schema"})
    if unknown:
        raise LakeConfigError(f"{descriptor}: unknown key(s) {unknown}; expected catalog, data_path and optionally metadata_schema")
    schema = data.get("metadata_schema")
    if schema is not None and (not isinstance(schema, str) or not schema.isidentifier()):
        raise LakeConfigError(f"{descriptor}: key 'metadata_schema' must be a plain identifier (letters, digits, _), not {schema!r}")
    catalog, data_path = data.get("catalog"), data.get("data_path")
    if not isinstance(catalog, str) or not catalog.strip():
        raise LakeConfigError(f"{descriptor}: key 'catalog' must be a non-empty string (postgres:<connection string>)")
    if "password=" in catalog.replace(" ", "").lower():
        raise LakeConfigError(f"{descriptor}: key 'catalog' holds a password; put it in a passfile (passfile=...) instead")
    if not isinstance(data_path, str) or not data_path.strip():
        raise LakeConfigError(f"{descriptor}: key 'data_path' must be a directory path")
    path = Path(data_path).expanduser()
    if not path.is_absolute():
        path = (descriptor.parent / path).resolve()
    return LakeConfig(descriptor=descriptor, catalog=catalog.strip(), data_path=path, metadata_schema=schema)


def read_descriptor(descriptor: str | os.PathLike) -> LakeConfig:
    path = Path(descriptor)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LakeConfigError(f"{path}: DuckLake descriptor not found (make cluster writes it)") from None
    return parse_descriptor(text, path)


def write_descriptor(
    descriptor: str | os.PathLike, catalog: str, data_path: str | os.PathLike, metadata_schema: str | None = None
) -> Path:
    """Write a descriptor (TOML strings escaped by :func:`_toml_string`); returns its path."""
    path = Path(descriptor)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# The DuckLake warehouse (flexpower_dagster/lib/lake.py): catalog in Postgres, data as Parquet files.\n"
        f"catalog = {_toml_string(catalog)}\n"
        f"data_path = {_toml_string(os.fspath(data_path))}\n"
        + (f"metadata_schema = {_toml_string(metadata_schema)}\n" if metadata_schema else "")
    )
    parse_descriptor(text, path)  # never write one that cannot be read back
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def extension_file(name: str, version: str, platform: str) -> Path:
    """The installed extension file ``name`` for DuckDB ``version`` on ``platform``, from the ``duckdb_ext``
    pip packages; missing is an error naming the package to install."""
    import duckdb_ext  # a namespace package: one folder per installed duckdb-ext-* wheel

    for root in duckdb_ext.__path__:
        candidate = Path(root) / "extensions" / f"v{version}" / platform / f"{name}.duckdb_extension"
        if candidate.is_file():
            return candidate
    package = {"postgres_scanner": "duckdb-ext-postgres"}.get(name, f"duckdb-ext-{name}")
    raise RuntimeError(
        f"DuckDB extension {name} for DuckDB {version} on {platform} is not installed: {package} (uv.lock, make setup) "
        "must match the pinned duckdb; extensions are never downloaded at run time"
    )


def load_extensions(conn: duckdb.DuckDBPyConnection) -> None:
    """Load the lake's extensions into ``conn`` from the pip packages' files."""
    platform = conn.execute("PRAGMA platform").fetchone()[0]
    for name in EXTENSIONS:
        conn.execute(f"LOAD {sql_string(extension_file(name, duckdb.__version__, platform))}")  # LOAD takes no parameter


def attach(conn: duckdb.DuckDBPyConnection, config: LakeConfig, alias: str = ALIAS) -> None:
    """Attach the lake as ``alias`` (creating its catalog tables and data folder on first use)."""
    config.data_path.mkdir(parents=True, exist_ok=True)
    options = f"DATA_PATH {sql_string(str(config.data_path) + os.sep)}"
    if config.metadata_schema:
        options += f", METADATA_SCHEMA {sql_string(config.metadata_schema)}"
    conn.execute(f"ATTACH {sql_string(config.attach_target)} AS {quote(alias)} ({options})")  # ATTACH takes no parameter
    conn.execute(f"SET ducklake_max_retry_count = {int(DUCKLAKE_MAX_RETRIES)}")


def _open(descriptor: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the extensions loaded and the lake attached (about 1 s: loading the extensions)."""
    config = read_descriptor(descriptor)
    base = duckdb.connect(":memory:", config=dict(CONFIG))
    try:
        load_extensions(base)
        attach(base, config)
    except BaseException:
        base.close()
        raise
    return base


def connect(descriptor: str | os.PathLike, private: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is the lake.

    Shared (the default, writers): one in-memory DuckDB per process and lake holds the loaded extensions and the
    attached catalog, and each call returns a new connection (cursor) to it, so transactions are per caller and
    closing one leaves the others open. ``private`` (readers that export files): a DuckDB instance of its own,
    closed with the connection, so a file it attaches is checkpointed on ``DETACH`` whatever other connections of
    the process have open."""
    if private:
        conn = _open(descriptor)
    else:
        key = (os.getpid(), os.fspath(Path(descriptor).resolve()))
        with _BASES_LOCK:
            if key not in _BASES:
                _BASES[key] = _open(descriptor)
            conn = _BASES[key].cursor()
    conn.execute(f"USE {quote(ALIAS)}")
    return conn


def close_all() -> None:
    """Close this process's lake connections (tests that stop Postgres)."""
    with _BASES_LOCK:
        for key in [k for k in _BASES if k[0] == os.getpid()]:
            _BASES.pop(key).close()
