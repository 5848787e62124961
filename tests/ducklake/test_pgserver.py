"""The local Postgres of `make cluster` and the backend tests (flexpower_dagster/lib/pgserver.py)."""

from __future__ import annotations

import stat

import psycopg2
import pytest

from flexpower_dagster.lib import pgserver


def test_server_listens_on_a_socket_only_with_a_generated_password(postgres):
    assert (postgres.socket_dir / f".s.PGSQL.{pgserver.PORT}").is_socket()
    for private in (postgres.password_file, postgres.passfile):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert len(postgres.password()) >= 24
    assert postgres.password() not in postgres.dsn(pgserver.CATALOG_DB)  # libpq reads it from the passfile
    with psycopg2.connect(postgres.dsn("postgres")) as conn, conn.cursor() as cur:
        cur.execute("SHOW listen_addresses")
        assert cur.fetchone()[0] == ""  # no TCP at all
        cur.execute("SELECT datname FROM pg_database")
        assert {pgserver.CATALOG_DB, pgserver.DAGSTER_DB} <= {r[0] for r in cur.fetchall()}


def test_a_wrong_password_is_refused(postgres):
    dsn = postgres.dsn("postgres").replace(f"passfile={postgres.passfile}", "password=not-the-password")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(dsn)


def test_start_again_keeps_the_cluster_and_its_password(postgres):
    before = postgres.password()
    postgres.start()  # already running: a no-op that still makes sure the databases exist
    assert postgres.running()
    assert postgres.password() == before


def test_a_socket_path_too_long_for_unix_is_refused_before_initdb(tmp_path):
    if pgserver.find_bindir() is None:
        pytest.skip("Debian's PostgreSQL is not installed (make setup-postgres)")
    server = pgserver.Server(tmp_path / ("x" * 120))
    with pytest.raises(ValueError, match="at most 107 bytes"):
        server.init()
    assert not server.pgdata.exists()


def test_a_folder_the_server_user_cannot_enter_is_refused(tmp_path):
    import os

    if pgserver.find_bindir() is None or os.geteuid() != 0:
        pytest.skip("needs Debian's PostgreSQL and root (the server then runs as the postgres user)")
    server = pgserver.Server(tmp_path / "pg")  # pytest's base folder is private (0700)
    with pytest.raises(RuntimeError, match="cannot enter this folder"):
        server.init()
