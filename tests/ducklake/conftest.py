"""The DuckLake backend's fixtures: one local Postgres per test session (Debian's package, Unix socket only).

Postgres is started once for the session and stopped at its end. Where Debian's PostgreSQL is not installed and
`make setup-postgres` cannot install it (no root, no apt), the tests that need it are skipped, saying so.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from flexpower_dagster.lib import lake, pgserver
from flexpower_dagster.settings import PROJECT_ROOT


def _install_postgres() -> str | None:
    """None when Postgres is there (installing it through `make setup-postgres` if needed), else why not."""
    if pgserver.find_bindir() is not None:
        return None
    result = subprocess.run(["make", "--no-print-directory", "setup-postgres"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if pgserver.find_bindir() is not None:
        return None
    return f"Debian's PostgreSQL is not installed and `make setup-postgres` could not install it: {(result.stderr or result.stdout).strip()[-500:]}"


@pytest.fixture(scope="session")
def postgres() -> pgserver.Server:
    """A running local Postgres with the catalog and Dagster databases, for the whole session."""
    why = _install_postgres()
    if why:
        pytest.skip(why)
    # not under pytest's base folder: it is private (0700) and the server runs as Debian's postgres user
    root = Path(tempfile.mkdtemp(prefix="flexpower-pg-"))
    server = pgserver.Server(root)
    try:
        server.start()
        yield server
    finally:
        lake.close_all()
        server.remove()


@pytest.fixture
def lake_descriptor(postgres, tmp_path) -> Path:
    """A new, empty DuckLake (its own metadata schema in the session's catalog database, its own data path)."""
    import psycopg2
    from psycopg2 import sql

    schema = "lake_" + tmp_path.name.lower().replace("-", "_")[:40]
    with psycopg2.connect(postgres.dsn(pgserver.CATALOG_DB)) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    return lake.write_descriptor(tmp_path / "warehouse.ducklake.toml", catalog="postgres:" + postgres.dsn(pgserver.CATALOG_DB),
                                 data_path=tmp_path / "lake", metadata_schema=schema)
