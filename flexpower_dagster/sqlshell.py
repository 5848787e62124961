"""``make sql``: ask the warehouse *snapshot* (never the live file) a question in SQL.

    make sql                              # interactive: one statement per line, empty line or Ctrl-D to stop
    make sql Q="SELECT * FROM marts.trading_daily"
    make sql AUDIENCE=trading Q="SELECT * FROM marts.trading_daily"   # an audience's scoped snapshot
    echo "SELECT 42" | .venv/bin/python -m flexpower_dagster.sqlshell

The snapshot is ``<warehouse dir>/snapshot.duckdb``, rewritten by the ``warehouse_snapshot`` asset after each
batch; it is opened read-only, so a long query never holds up the pipeline. ``--audience NAME`` (``AUDIENCE=``)
opens that internal audience's snapshot instead, ``<data dir>/snapshots/<audience>.duckdb`` (docs/permissions.md):
what the audience is allowed to see, nothing else.
"""

from __future__ import annotations

import sys

import duckdb
import pandas as pd

from flexpower_dagster.defs.warehouse.snapshot import snapshot_path
from flexpower_dagster.settings import Settings


def run(conn: duckdb.DuckDBPyConnection, statement: str) -> str:
    try:
        result = conn.execute(statement)
        if result.description is None:
            return "ok"
        frame = result.fetchdf()
    except duckdb.Error as exc:
        return f"error: {exc}"
    with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200):
        return frame.to_string(index=False) if len(frame) else "(no rows)"


def main(argv: list[str]) -> int:
    argv = [a for a in argv if a.strip()]
    settings = Settings.from_env()
    if argv[:1] == ["--audience"]:
        from flexpower_dagster.defs.permissions.policy import PolicyError, load_policy
        from flexpower_dagster.defs.permissions.snapshot import snapshot_path as audience_snapshot_path

        name = argv[1] if len(argv) > 1 else ""
        argv = argv[2:]
        try:
            grantee = load_policy().resolve(name)
        except PolicyError as exc:
            print(f"--audience: {exc}")
            return 1
        if not grantee.audience.internal:
            print(f"--audience: {name!r} is scoped; only internal audiences have a snapshot file")
            return 1
        path, writer = audience_snapshot_path(settings.data_dir, grantee.name), "audience_snapshots"
    else:
        path, writer = snapshot_path(settings.warehouse), "warehouse_snapshot"
    if not path.exists():
        print(f"no snapshot at {path} yet: it is written after the first batch (make run, or the {writer} asset)")
        return 1
    with duckdb.connect(str(path), read_only=True) as conn:
        if argv:
            print(run(conn, " ".join(argv)))
            return 0
        interactive = sys.stdin.isatty()
        if interactive:
            print(f"snapshot {path} (read-only). One statement per line; an empty line ends.")
        for line in sys.stdin:
            if not line.strip():
                if interactive:
                    break
                continue
            print(run(conn, line))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
