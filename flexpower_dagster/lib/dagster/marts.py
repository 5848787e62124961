"""SQL marts: a daily asset whose rows are one SQL statement over the warehouse (:func:`daily_sql_mart`).

The statement (pure, tested through :func:`flexpower_dagster.lib.sql.evaluate`) runs inside DuckDB and
its result replaces the asset's partition in one transaction: no round trip through pandas. A run over a
range of days (a single-run backfill) loops over the days on one connection. Metadata is computed from
the rows written (``summarize``), and ``prepare`` may add parameters computed before the statement (e.g.
the assets whose final production is quarantined) together with metadata about them. ``after`` runs once the
partitions are written, on the same connection, with the published report site (the position mart rewrites the
trading desk's data file there).
"""


import warnings
from collections.abc import Callable, Sequence
from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from flexpower_dagster.lib.dagster.catalog import SQL_STATEMENT_KEY
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import TABLE_NAME_KEY, partition_days, quantities, table_metadata
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.lib.dagster.resources import ReportSite, Warehouse
from flexpower_dagster.lib.sql import day_params
from flexpower_dagster.lib.tables import TableSpec
from flexpower_dagster.lib.warehouse import read_partitions, replace_partitions

#: ``prepare(conn, day, log) -> (extra parameters, metadata)``
Prepare = Callable[[duckdb.DuckDBPyConnection, date, dg.DagsterLogManager], tuple[dict, dict]]
#: ``after(conn, days, site, log) -> metadata``: after the days are written (``site``: the published report site)
After = Callable[[duckdb.DuckDBPyConnection, list[date], ReportSite, dg.DagsterLogManager], dict]

#: Single-run backfills: a range of days is one run (one process start-up), the days loop inside it.
SINGLE_RUN = dg.BackfillPolicy.single_run()


def daily_sql_mart(
    table: TableSpec,
    sql: str,
    *,
    deps: Sequence[dg.AssetKey | Sequence[str]],
    description: str,
    group_name: str,
    summarize: Callable[[pd.DataFrame], dict] | None = None,
    prepare: Prepare | None = None,
    after: After | None = None,
) -> dg.AssetsDefinition:
    """A daily-partitioned asset ``<table.schema>/<table.name>`` materialised by ``sql``.

    The statement is definition metadata (:data:`SQL_STATEMENT_KEY`, readable in the UI); the catalogue
    points the asset's code references at its declaration and at the statement in the domain's ``sql.py``
    (``lib/dagster/catalog.py``), not at this factory."""
    with warnings.catch_warnings():  # backfill_policy is "beta" in Dagster 1.13; covered by tests
        warnings.simplefilter("ignore", dg.BetaWarning)
        decorator = dg.asset(
            key=[table.schema, table.name],
            deps=[dg.AssetKey(list(d)) if not isinstance(d, dg.AssetKey) else d for d in deps],
            partitions_def=daily_partitions,
            backfill_policy=SINGLE_RUN,
            tags=DAILY_TAGS,
            group_name=group_name,
            kinds={"duckdb", "sql"},
            description=description,
            pool=WAREHOUSE_POOL,
            metadata={**table_metadata(table), SQL_STATEMENT_KEY: dg.MetadataValue.text(sql)},
        )

    def _materialize(context: dg.AssetExecutionContext, warehouse: Warehouse, site: ReportSite | None) -> dg.MaterializeResult:
        days = partition_days(context)
        md: dict = {}
        rows = 0
        with warehouse.connect(log=context.log.info) as conn:
            for day in days:
                params = day_params(day)
                if prepare is not None:
                    extra, extra_md = prepare(conn, day, context.log)
                    params.update(extra)
                    md.update(extra_md)
                rows += replace_partitions(conn, table, [day], sql, params)
            written = read_partitions(conn, table, days) if summarize is not None else None
            if after is not None and site is not None:
                md.update(after(conn, days, site, context.log))
        if summarize is not None and written is not None:
            md.update(summarize(written))
        key = "dagster/partition_row_count" if len(days) == 1 else "rows"
        return dg.MaterializeResult(metadata={TABLE_NAME_KEY: table.qualified_name, **quantities({key: rows, **md})})

    if after is None:

        @decorator
        @limited("marts")
        def _mart(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
            return _materialize(context, warehouse, None)

    else:  # only a mart with an ``after`` step requires the report site resource

        @decorator
        @limited("marts")
        def _mart(context: dg.AssetExecutionContext, warehouse: Warehouse, site: ReportSite) -> dg.MaterializeResult:
            return _materialize(context, warehouse, site)

    return _mart
