"""A local Postgres for the cluster profile (``make cluster``) and the DuckLake tests (no Dagster, no domain).

Debian's PostgreSQL (``make setup-postgres`` installs the ``postgresql`` package through apt when it is
missing, as ``make setup-browser`` does Chromium) runs from a data directory under the project's ``data/``:

* ``<root>/pgdata``: the cluster (``initdb``), listening on **no TCP port**: only a Unix socket in
  ``<root>/run`` (``listen_addresses = ''``), so several clones and test sessions on one machine never collide;
* ``<root>/password``: a generated password (``secrets.token_urlsafe``, mode 0600) of the role
  :data:`USER`; clients read it through ``<root>/pgpass`` (libpq's password file), never from the repository;
  authentication is ``scram-sha-256``;
* two databases: :data:`CATALOG_DB` (the DuckLake catalog) and :data:`DAGSTER_DB` (Dagster's runs, event
  log and schedules).

Postgres refuses to run as root: as root the server runs as Debian's ``postgres`` user (``runuser``), which
then owns ``pgdata`` and ``run``. ``make reset`` stops the server and deletes ``data/postgres``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

USER = "flexpower"
CATALOG_DB = "flexpower_catalog"
DAGSTER_DB = "flexpower_dagster"
PORT = 5432  # names the socket file only (no TCP)
#: A Unix socket path is limited to 107 bytes (``sun_path``): ``<run>/.s.PGSQL.5432`` must fit.
MAX_SOCKET_PATH = 107
START_TIMEOUT_SECONDS = 60
SERVER_USER = "postgres"  # Debian's system user for the server when we are root


class PostgresUnavailable(RuntimeError):
    """Debian's PostgreSQL binaries are not installed (``make setup-postgres``)."""


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``, if any."""
    found = []
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file() and d.parent.name.isdigit():
            found.append((int(d.parent.name), d))
    return max(found)[1] if found else None


@dataclass(frozen=True)
class Server:
    """A local Postgres under ``root`` (``data/postgres``)."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def passfile(self) -> Path:
        return self.root / "pgpass"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()

    def dsn(self, dbname: str) -> str:
        """libpq connection string (keyword = value) without the password: it comes from :attr:`passfile`."""
        parts = {"dbname": dbname, "host": str(self.socket_dir), "port": str(PORT), "user": USER, "passfile": str(self.passfile)}
        for k, v in parts.items():
            if any(c.isspace() or c in "'\\" for c in v):
                raise ValueError(f"Postgres {k} {v!r}: a path with spaces or quotes cannot go into a connection string")
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def env(self) -> dict[str, str]:
        """Environment for Dagster's instance (``dagster.cluster.yaml`` reads these) and for ``psql``."""
        return {
            "FLEXPOWER_PG_HOST": str(self.socket_dir),
            "FLEXPOWER_PG_PORT": str(PORT),
            "FLEXPOWER_PG_USER": USER,
            "FLEXPOWER_PG_PASSWORD": self.password(),
            "FLEXPOWER_PG_DAGSTER_DB": DAGSTER_DB,
            "PGPASSFILE": str(self.passfile),
        }

    # --- lifecycle -------------------------------------------------------------------------------------------

    def _bindir(self) -> Path:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "Debian's PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make setup-postgres`"
            )
        return bindir

    def _as_server_user(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", SERVER_USER, "--", *args] if os.geteuid() == 0 else args

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            ent = pwd.getpwnam(SERVER_USER)
            for p in paths:
                os.chown(p, ent.pw_uid, ent.pw_gid)

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def init(self) -> None:
        """``initdb`` with a generated password (once; an existing cluster is kept)."""
        if self.initialised():
            return
        bindir = self._bindir()
        sock = self.socket_dir / f".s.PGSQL.{PORT}"
        if len(str(sock)) > MAX_SOCKET_PATH:
            raise ValueError(f"{sock}: a Unix socket path must be at most {MAX_SOCKET_PATH} bytes; move the data directory")
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # the server user must reach the folder
            os.chmod(self.root, 0o755)
            reach = subprocess.run(self._as_server_user(["test", "-x", str(self.root)]), capture_output=True)
            if reach.returncode != 0:
                raise RuntimeError(
                    f"{self.root}: Debian's {SERVER_USER!r} user (the server runs as it, never as root) cannot enter this "
                    "folder: a parent folder is private (mode 0700); put the data directory elsewhere"
                )
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self.pgdata.mkdir(mode=0o700)
        self.socket_dir.mkdir(exist_ok=True)
        self._own(self.pgdata, self.socket_dir)
        password = secrets.token_urlsafe(24)
        _write_private(self.password_file, password + "\n")
        # libpq's password file: host:port:database:username:password (':' and '\' escaped; token_urlsafe has neither)
        _write_private(self.passfile, f"{self.socket_dir}:{PORT}:*:{USER}:{password}\n")
        pwfile = self.root / ".initdb.pw"  # readable by the server user for initdb only, then deleted
        _write_private(pwfile, password + "\n")
        self._own(pwfile)
        try:
            subprocess.run(
                self._as_server_user([
                    str(bindir / "initdb"), "-D", str(self.pgdata), "-U", USER, f"--pwfile={pwfile}",
                    "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
                ]),
                check=True, capture_output=True, text=True,
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb in {self.pgdata} failed: {exc.stderr.strip() or exc.stdout.strip()}") from None
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# flexpower_dagster/lib/pgserver.py: a Unix socket only, no TCP\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                f"port = {PORT}\n"
                "max_connections = 200\n"
                "shared_buffers = 128MB\n"
                "fsync = on\n"
            )

    def running(self) -> bool:
        if not self.initialised():
            return False
        result = subprocess.run(
            self._as_server_user([str(self._bindir() / "pg_ctl"), "status", "-D", str(self.pgdata)]),
            capture_output=True, text=True,
        )
        return result.returncode == 0

    def start(self) -> None:
        """Initialise if needed, start if not running, and create the two databases."""
        self.init()
        if not self.running():
            self.log_file.touch()
            self._own(self.log_file)
            result = subprocess.run(
                self._as_server_user([
                    str(self._bindir() / "pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.log_file),
                    "-w", "-t", str(START_TIMEOUT_SECONDS),
                ]),
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                tail = self.log_file.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Postgres in {self.pgdata} did not start: {result.stderr.strip()}\n{tail}")
        self.create_databases()

    def stop(self) -> None:
        if self.running():
            subprocess.run(
                self._as_server_user([str(self._bindir() / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"]),
                check=True, capture_output=True, text=True,
            )

    def create_databases(self) -> None:
        import psycopg2
        from psycopg2 import sql

        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                conn = psycopg2.connect(self.dsn("postgres"))
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                for db in (CATALOG_DB, DAGSTER_DB):
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
                    if cur.fetchone() is None:
                        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        finally:
            conn.close()

    def remove(self) -> None:
        """Stop the server and delete its folder (``make reset``)."""
        with contextlib.suppress(PostgresUnavailable):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "remove", "env"])
    parser.add_argument("--root", default="data/postgres", help="the server's folder (default data/postgres)")
    args = parser.parse_args(argv)
    server = Server(Path(args.root).resolve())
    try:
        if args.command == "start":
            server.start()
            print(f"postgres: running on {server.socket_dir} (no TCP); databases {CATALOG_DB}, {DAGSTER_DB}; log {server.log_file}")
        elif args.command == "stop":
            server.stop()
        elif args.command == "status":
            print("running" if server.running() else "stopped")
            return 0 if server.running() else 3
        elif args.command == "remove":
            server.remove()
        elif args.command == "env":  # for the Makefile: `eval "$(python -m ... env)"`
            for k, v in server.env().items():
                print(f"export {k}={_shell_quote(v)}")
    except (PostgresUnavailable, RuntimeError, ValueError) as exc:
        print(f"postgres: {exc}", file=sys.stderr)
        return 2
    return 0


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


if __name__ == "__main__":
    sys.exit(main())
