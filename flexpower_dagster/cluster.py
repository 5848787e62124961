"""``make cluster``: the platform on Postgres + DuckLake with parallel runs (docs/scaling.md, "Cluster profile").

``python -m flexpower_dagster.cluster prepare`` (the Makefile runs it, then ``dagster dev`` with the environment
it prints):

1. starts the local Postgres under ``data/postgres`` (:mod:`flexpower_dagster.lib.pgserver`: Unix socket only,
   generated password), with the DuckLake catalog database and Dagster's database;
2. writes the DuckLake descriptor ``data/warehouse/flexpower.ducklake.toml`` (catalog in Postgres, Parquet data
   under ``data/lake``) and creates every declared table in it once (:func:`create_declared_tables`);
3. writes Dagster's instance ``data/dagster_cluster/dagster.yaml`` from ``dagster.cluster.yaml`` (run, event-log and
   schedule storage in Postgres; a run queue admitting several runs, one per partition);
4. prints ``export`` lines: ``DAGSTER_HOME``, ``FLEXPOWER_WAREHOUSE`` and the Postgres connection Dagster reads.

Why the tables are created up front: DuckLake 1.4.4 fails a commit that must be checked against another
transaction's new catalog entry ("Failed to parse catalog entry - trailing data after quoted value"), so two runs
that each create a table (or replace a view) at the same moment fail one of them; with every declared table in
place before the runs, parallel runs only insert and delete rows, which DuckLake commits side by side.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import shutil
import sys
from pathlib import Path
from urllib.parse import quote as url_quote

from flexpower_dagster.lib import lake, pgserver, warehouse
from flexpower_dagster.lib.tables import TableSpec
from flexpower_dagster.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"
DESCRIPTOR = DATA / "warehouse" / "flexpower.ducklake.toml"
LAKE_DATA = DATA / "lake"
POSTGRES_ROOT = DATA / "postgres"
DAGSTER_HOME = DATA / "dagster_cluster"
INSTANCE_TEMPLATE = PROJECT_ROOT / "dagster.cluster.yaml"
#: Packages whose modules declare the warehouse tables (module-level TableSpecs).
_TABLE_PACKAGES = ("flexpower_dagster.lib", "flexpower_dagster.defs")


def declared_tables() -> list[TableSpec]:
    """Every module-level :class:`TableSpec` of the platform, by qualified name (the warehouse's tables). The
    packages are namespace packages (folders without ``__init__``), so their ``.py`` files are listed directly."""
    found: dict[str, TableSpec] = {}
    for package_name in _TABLE_PACKAGES:
        package = importlib.import_module(package_name)
        for root in package.__path__:
            for path in sorted(Path(root).rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                if parts[-1] in ("__init__", "__main__"):
                    parts = parts[:-1]
                    if not parts:
                        continue
                module = importlib.import_module(".".join((package_name, *parts)))
                for value in vars(module).values():
                    if isinstance(value, TableSpec):
                        found.setdefault(value.qualified_name, value)
    return [found[k] for k in sorted(found)]


def create_declared_tables(database: str | os.PathLike) -> list[str]:
    """Create every declared table (and the data-quality view) in ``database`` in one transaction; returns the
    qualified names. Tables that exist are checked (a changed type is an error) and given new columns."""
    from flexpower_dagster.lib.quality.results import ensure_checks_view

    specs = declared_tables()
    with warehouse.connect(database) as conn, warehouse.transaction(conn):
        for spec in specs:
            warehouse.ensure_table(conn, spec)
        ensure_checks_view(conn)
    return [s.qualified_name for s in specs]


def dagster_postgres_url(server: pgserver.Server) -> str:
    """SQLAlchemy URL of Dagster's database over the Unix socket (``?host=<socket dir>``)."""
    return (
        f"postgresql+psycopg2://{url_quote(pgserver.USER, safe='')}:{url_quote(server.password(), safe='')}@/"
        f"{pgserver.DAGSTER_DB}?host={url_quote(str(server.socket_dir), safe='/')}&port={pgserver.PORT}"
    )


def prepare(data: Path = DATA) -> dict[str, str]:
    """Start Postgres, write the descriptor and the instance, create the tables; returns the environment."""
    server = pgserver.Server(data / "postgres")
    server.start()
    descriptor = lake.write_descriptor(
        data / "warehouse" / DESCRIPTOR.name, catalog="postgres:" + server.dsn(pgserver.CATALOG_DB), data_path=data / "lake"
    )
    create_declared_tables(descriptor)
    home = data / DAGSTER_HOME.name
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(home),
        "FLEXPOWER_WAREHOUSE": str(descriptor),
        "FLEXPOWER_DAGSTER_PG_URL": dagster_postgres_url(server),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["prepare"])
    parser.add_argument("--data", default=str(DATA), help="the data folder (default data/)")
    args = parser.parse_args(argv)
    try:
        env = prepare(Path(args.data).resolve())
    except (pgserver.PostgresUnavailable, RuntimeError, ValueError) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 2
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
