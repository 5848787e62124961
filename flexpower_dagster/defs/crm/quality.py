"""Data-quality vocabulary about the portfolio, for every domain's suites (pure: no Dagster).

Suites of per-asset data (forecasts, live samples, DSO finals, per-asset marts) check rows against the
contracts of the day: the asset must be known, its power within the contract capacity, every portfolio
asset must have its 96 quarter-hours. Such suites declare :data:`CONTRACTS` as a reference table (the
check op then hands them the day's ``staging.crm_contracts``) and use these builders.
"""

from __future__ import annotations

from functools import partial

from flexpower_dagster.defs.crm.portfolio import (
    ASSET_TERMS_CTE,
    CAPACITY_FACTOR,
    CONTRACTS_REF,
    in_force_sql,
    portfolio_assets,
    with_contract_terms,
)
from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.lib.quality.completeness import Rows
from flexpower_dagster.lib.quality.gx_runner import Expectation, Severity
from flexpower_dagster.lib.quality.suites import FailingRows, View, a_ge_b, between, coverage_view
from flexpower_dagster.lib.quality.views import SqlView
from flexpower_dagster.lib.tables import TableSpec

#: ``suite(..., reference_tables=CONTRACTS)``: the views receive the day's contract snapshot.
CONTRACTS = {CONTRACTS_REF: CRM_CONTRACTS}

#: The day's portfolio as completeness rules count it (lib/quality/completeness.py): the contracts of the staged
#: snapshot in force on the day (the rule every daily mart builds its portfolio with, :data:`PORTFOLIO_CTE`).
CONTRACTS_IN_FORCE_ROWS = Rows(CRM_CONTRACTS, noun="contracts in force", none="no contract in force",
                               where=f"{in_force_sql()} AND asset_id IS NOT NULL")


def contract_terms_view(upper_factor: float | None = None, lower_factor: float | None = None) -> View:
    """The rows joined with their asset's contract terms and plausibility bounds (``_max_mw``, ``_min_mw``, ...)."""
    return partial(with_contract_terms, upper_factor=upper_factor or CAPACITY_FACTOR, lower_factor=lower_factor)


def portfolio_coverage_view(entity: str | None = "asset_id", time_column: str = "delivery_start", *,
                            only_present: bool = False) -> View:
    """QHs per asset, every portfolio asset of the day listed (``n_qh = 0`` without rows) unless
    ``only_present``; ``in_expected`` = the asset is in the portfolio."""
    return coverage_view(entity, time_column, expected=portfolio_assets, add_missing=not only_present)


def capacity_bounds(column: str = "mw", *, check: str, severity: Severity, view: str = "contracts",
                    lower: str = "zero", source: str = "power") -> list[Expectation]:
    """``lower <= column <= 1.1 x capacity`` per row, capacity joined from the contracts (view ``contracts``)."""
    out = [a_ge_b("_max_mw", column, check=check, severity=severity, view=view, entity="asset_id",
                  id=f"{column}-le-capacity", description=f"{source} {column} <= 1.1 x contract capacity")]
    if lower == "zero":
        out.append(between(column, 0, None, check=check, severity=severity, view=view, entity="asset_id",
                           id=f"{column}-ge-0", description=f"{source} {column} >= 0"))
    else:
        out.append(a_ge_b(column, "_min_mw", check=check, severity=severity, view=view, entity="asset_id",
                          id=f"{column}-ge-min", description=f"{source} {column} >= -5 % of contract capacity"))
    return out


_DAY = "delivery_day = CAST($day AS DATE)"
#: The day's portfolio: the assets of the staged snapshot's contracts in force on the day
_PORTFOLIO_SQL = f"SELECT DISTINCT asset_id FROM staging.crm_contracts WHERE {_DAY} AND {in_force_sql()} AND asset_id IS NOT NULL"


def known_to_contracts(table: TableSpec, *, check: str, severity: Severity, metering_point: bool = False,
                       per_asset: bool = False) -> list[FailingRows]:
    """Referential integrity as failing rows: the rows (``per_asset``: the assets) of ``table``'s day whose asset id
    (and metering point: known at all, and the one the asset's contract names) the day's contracts do not know."""
    rules = [("asset-known", "asset_id is known to the contracts", "t.asset_id IS NULL",
              "'asset_id ' || coalesce(r.asset_id, 'NULL') || ' is not known to the contracts'")]
    if metering_point:
        mps = f"SELECT metering_point_id FROM staging.crm_contracts WHERE {_DAY} AND metering_point_id IS NOT NULL"
        rules += [
            ("metering-point-known", "metering_point_id is known to the contracts", f"NOT coalesce(r.metering_point_id IN ({mps}), false)",
             "'metering_point_id ' || coalesce(r.metering_point_id, 'NULL') || ' is not known to the contracts'"),
            ("metering-point-matches", "metering_point_id is the one the asset's contract names",
             "NOT coalesce(r.metering_point_id = t.metering_point_id, false)",
             "'metering_point_id ' || coalesce(r.metering_point_id, 'NULL') || ' is not the contract''s ' || coalesce(t.metering_point_id, 'NULL')"),
        ]
    rows = f"(SELECT DISTINCT asset_id FROM {table.qualified_name} WHERE {_DAY})" if per_asset else table.qualified_name
    return [FailingRows(id, f"WITH {ASSET_TERMS_CTE} SELECT r.asset_id, {problem} AS problem FROM {rows} r "
                        f"LEFT JOIN asset_terms t ON t.asset_id = r.asset_id WHERE {'true' if per_asset else 'r.' + _DAY} AND {broken}",
                        description, check, severity, (CRM_CONTRACTS,), "asset_id")
            for id, description, broken, problem in rules]


def only_portfolio_assets(table: TableSpec, *, check: str, severity: Severity) -> FailingRows:
    """Every asset of ``table``'s day is in the day's portfolio (a contract in force): one failing row per other asset."""
    return FailingRows(
        "only-portfolio-assets", f"SELECT asset_id, count(*) || ' rows of an asset without a contract in force' AS problem "
        f"FROM {table.qualified_name} WHERE {_DAY} AND NOT coalesce(asset_id IN ({_PORTFOLIO_SQL}), false) GROUP BY asset_id",
        "only assets of contracts in force", check, severity, (CRM_CONTRACTS,), "asset_id")


def row_per_portfolio_asset(table: TableSpec, *, check: str, severity: Severity) -> FailingRows:
    """Every asset of the day's portfolio has a row in ``table`` (one failing row per portfolio asset without)."""
    return FailingRows(
        "row-per-asset", f"SELECT asset_id, 'no row for the portfolio asset' AS problem FROM ({_PORTFOLIO_SQL}) "
        f"WHERE asset_id NOT IN (SELECT asset_id FROM {table.qualified_name} WHERE {_DAY} AND asset_id IS NOT NULL)",
        "one row for every portfolio asset", check, severity, (CRM_CONTRACTS,), "asset_id")


# --------------------------------------------------------------------------------------------
# the same rules in SQL, for suites of tables too large for pandas (suite(..., load_partition=False))


def asset_bounds_sql_view(table: TableSpec, column: str = "mw", *, upper_factor: float | None = None,
                          lower_factor: float | None = None) -> SqlView:
    """One row per asset of the day's rows: ``n_rows``, ``max_<column>``, ``min_<column>`` and the contract's
    ``_capacity_mw``, ``_max_mw`` (1.1 x capacity) and ``_min_mw`` (``lower_factor`` x capacity, or 0):
    :func:`contract_terms_view` reduced to the extremes that decide each rule."""
    upper = upper_factor or CAPACITY_FACTOR
    lower = f"t.capacity_mw * {lower_factor!r}" if lower_factor is not None else "0.0 * t.capacity_mw"
    return SqlView(f"""
        WITH {ASSET_TERMS_CTE},
        agg AS (
            SELECT asset_id, count(*) AS n_rows, max("{column}") AS "max_{column}", min("{column}") AS "min_{column}"
            FROM {table.qualified_name} WHERE delivery_day = CAST($day AS DATE) GROUP BY asset_id
        )
        SELECT a.*, CAST(t.capacity_mw AS DOUBLE) AS _capacity_mw, t.capacity_mw * {upper!r} AS _max_mw, {lower} AS _min_mw
        FROM agg a LEFT JOIN asset_terms t USING (asset_id)
        ORDER BY a.asset_id
    """)


def portfolio_coverage_sql_view(table: TableSpec, time_column: str = "delivery_start", *, only_present: bool = False) -> SqlView:
    """:func:`portfolio_coverage_view` in SQL: distinct quarter-hours per asset (``n_qh``), ``n_rows``,
    ``in_expected``; every portfolio asset listed (``n_qh = 0``) unless ``only_present``."""
    join = "LEFT JOIN" if only_present else "FULL JOIN"
    return SqlView(f"""
        WITH portfolio AS (
            SELECT DISTINCT asset_id FROM staging.crm_contracts
            WHERE delivery_day = CAST($day AS DATE) AND {in_force_sql()} AND asset_id IS NOT NULL
        ),
        counts AS (
            SELECT asset_id, count(DISTINCT time_bucket(INTERVAL 15 MINUTE, "{time_column}")) AS n_qh, count(*) AS n_rows
            FROM {table.qualified_name} WHERE delivery_day = CAST($day AS DATE) GROUP BY asset_id
        )
        SELECT coalesce(c.asset_id, p.asset_id) AS asset_id, coalesce(c.n_qh, 0) AS n_qh,
               p.asset_id IS NOT NULL AS in_expected, coalesce(c.n_rows, 0) AS n_rows
        FROM counts c {join} portfolio p USING (asset_id)
        ORDER BY 1
    """)


def capacity_bounds_per_asset(column: str = "mw", *, check: str, severity: Severity, view: str = "per_asset",
                              lower: str = "zero", source: str = "power") -> list[Expectation]:
    """:func:`capacity_bounds` on :func:`asset_bounds_sql_view`: an asset fails when its largest value exceeds
    1.1 x capacity or its smallest falls below the lower bound (same ids, same failing assets)."""
    out = [a_ge_b("_max_mw", f"max_{column}", check=check, severity=severity, view=view, entity="asset_id",
                  id=f"{column}-le-capacity", description=f"{source} {column} <= 1.1 x contract capacity")]
    if lower == "zero":
        out.append(between(f"min_{column}", 0, None, check=check, severity=severity, view=view, entity="asset_id",
                           id=f"{column}-ge-0", description=f"{source} {column} >= 0"))
    else:
        out.append(a_ge_b(f"min_{column}", "_min_mw", check=check, severity=severity, view=view, entity="asset_id",
                          id=f"{column}-ge-min", description=f"{source} {column} >= -5 % of contract capacity"))
    return out
