"""Dagster wiring of the audience snapshots (logic in :mod:`.policy` and :mod:`.snapshot`; docs/permissions.md).

``audience_snapshots`` writes ``<data dir>/snapshots/<audience>.duckdb`` for every internal audience of the
policy after the marts and invoices of a batch: it depends on the mart assets of the tables the internal
audiences read (derived from the policy), so the automation rebuilds it once after a batch, and ``make run``
builds it in the report job after the days, the months and the alerts.
"""

import dagster as dg

from flexpower_dagster.defs.permissions.policy import Policy, load_policy
from flexpower_dagster.defs.permissions.snapshot import SNAPSHOT_DIR, write_internal_snapshots
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities
from flexpower_dagster.lib.dagster.resources import DataDir, Warehouse
from flexpower_dagster.lib.dbfile import open_reader

#: Tables written by another asset than ``marts/<name>`` (the register is written with the invoice documents);
#: None: written by checks or view definitions, not by an asset (the marts they describe are deps already).
WRITTEN_BY: dict[str, tuple[str, ...] | None] = {
    "marts.invoice_register": ("marts", "invoice_documents"),
    "marts.data_quality_results": None,
    "marts.data_quality_checks": None,
}


def upstream_keys(policy: Policy) -> list[dg.AssetKey]:
    """The mart assets behind the tables the internal audiences read (staging tables are not deps: every
    staging update reaches the marts, and the snapshots wait for those)."""
    internal = policy.internal_audiences()
    if any(a.everything for a in internal):
        tables = set(policy.tables)
    else:
        tables = {t for a in internal for t in a.grants}
    keys = set()
    for table in tables:
        schema, name = table.split(".", 1)
        if schema != "marts":
            continue
        written_by = WRITTEN_BY.get(table, (schema, name))
        if written_by is not None:
            keys.add(dg.AssetKey(list(written_by)))
    return sorted(keys, key=lambda k: k.to_user_string())


POLICY = load_policy()


@dg.asset(
    key="audience_snapshots",
    pool=WAREHOUSE_POOL,
    deps=upstream_keys(POLICY),
    group_name="reporting",
    kinds={"duckdb"},
    description=(
        "One read-only DuckDB file per internal audience of the permissions policy "
        f"(<data dir>/{SNAPSHOT_DIR}/<audience>.duckdb: {', '.join(a.name for a in POLICY.internal_audiences())}), "
        "holding only the tables, columns and rows the policy allows; what an audience's reports are built from "
        "and what is handed out for ad-hoc SQL, never the master warehouse. docs/permissions.md."
    ),
)
@limited("reporting")
def audience_snapshots(context: dg.AssetExecutionContext, warehouse: Warehouse, data_dir: DataDir) -> dg.MaterializeResult:
    with open_reader(warehouse.path, wait_seconds=warehouse.lock_wait_seconds, log=context.log.info) as conn:
        snapshots = write_internal_snapshots(conn, POLICY, data_dir.path)
    for snap in snapshots:
        context.log.info(
            f"{snap.audience}: {len(snap.rows)} tables, {sum(snap.rows.values()):,} rows, {snap.bytes / 2**20:.1f} MiB "
            f"in {snap.seconds:.1f} s" + (f"; not in the warehouse yet (empty): {', '.join(snap.absent)}" if snap.absent else "")
        )
    metadata = {
        "directory": dg.MetadataValue.path(str(data_dir.path / SNAPSHOT_DIR)),
        "policy_sha256": POLICY.sha256,
        "audiences": len(snapshots),
        "seconds": round(sum(s.seconds for s in snapshots), 2),
    }
    for snap in snapshots:
        metadata[f"{snap.audience}_tables"] = len(snap.rows)
        metadata[f"{snap.audience}_size_mib"] = round(snap.bytes / 2**20, 1)
    return dg.MaterializeResult(metadata=quantities(metadata))
