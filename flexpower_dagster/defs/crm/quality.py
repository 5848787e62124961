"""Data-quality vocabulary about the portfolio, for every domain's suites (pure: no Dagster).

Suites of per-asset data (forecasts, live samples, DSO finals, per-asset marts) check rows against the
contracts of the day: the asset must be known, its power within the contract capacity, every portfolio
asset must have its 96 quarter-hours. Such suites declare :data:`CONTRACTS` as a reference table (the
check op then hands them the day's ``staging.crm_contracts``) and use these builders.
"""

from __future__ import annotations

from functools import partial

from flexpower_dagster.defs.crm.portfolio import CAPACITY_FACTOR, CONTRACTS_REF, portfolio_assets, with_contract_terms
from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.lib.quality.gx_runner import Expectation, Severity
from flexpower_dagster.lib.quality.suites import View, a_ge_b, between, coverage_view, in_set

#: ``Suite(reference_tables=CONTRACTS)``: the views receive the day's contract snapshot.
CONTRACTS = {CONTRACTS_REF: CRM_CONTRACTS}


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


def known_to_contracts(*, check: str, severity: Severity, view: str = "contracts", metering_point: bool = False) -> list[Expectation]:
    """Referential integrity: the asset id (and metering point) are known to the contracts."""
    out = [in_set("_asset_known", [True], check=check, severity=severity, view=view, entity="asset_id", id="asset-known",
                  description="asset_id is known to the contracts")]
    if metering_point:
        out.append(in_set("_metering_point_known", [True], check=check, severity=severity, view=view, entity="asset_id",
                          id="metering-point-known", description="metering_point_id is known to the contracts"))
        out.append(in_set("_metering_point_matches", [True], check=check, severity=severity, view=view, entity="asset_id",
                          id="metering-point-matches", description="metering_point_id is the one the asset's contract names"))
    return out
