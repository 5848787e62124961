"""Dagster wiring of the warehouse snapshot for people and BI tools (logic in :mod:`.snapshot`)."""

import dagster as dg

from flexpower_dagster.defs.warehouse.snapshot import snapshot_path, write_snapshot
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities
from flexpower_dagster.lib.dagster.resources import Warehouse

#: Every table people query: the marts the report reads and the invoices (the snapshot copies all tables), and the
#: invoice documents (their register; their PDFs, which the report site links): the site and the audience sites are
#: built from this copy, after it (docs/automation.md, "Concurrency").
_UPSTREAM = [
    "contracts_in_force", "asset_forecast", "portfolio_forecast", "live_infeed", "best_of_infeed",
    "portfolio_best_of_infeed", "trading_qh", "trading_daily", "imbalance", "portfolio_imbalance",
    "asset_performance", "position_qh", "invoices", "invoice_lines", "invoice_documents",
]


@dg.asset(
    key="warehouse_snapshot",
    pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(["marts", name]) for name in _UPSTREAM],
    group_name="reporting",
    kinds={"duckdb"},
    description=(
        "Read-only copy of the whole warehouse for people and BI tools (<warehouse dir>/snapshot.duckdb; "
        "`make sql` opens it). Rebuilt after each batch of updates; the live warehouse is off-limits to "
        "anyone but the pipeline (DuckDB: one writer or many readers, never both). The report site and the audience "
        "sites are built from it, in the `site` pool beside the warehouse writer."
    ),
)
@limited("reporting")
def warehouse_snapshot(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect(log=context.log.info) as conn:
        snap = write_snapshot(conn, snapshot_path(warehouse.path))
    return dg.MaterializeResult(
        metadata=quantities({
            "path": dg.MetadataValue.path(str(snap.path)),
            "tables": snap.tables,
            "size_mib": round(snap.bytes / 2**20, 1),
            "seconds": round(snap.seconds, 2),
            "open_with": "make sql",
        })
    )
