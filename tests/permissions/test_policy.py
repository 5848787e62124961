"""The permissions policy: every warehouse table classified, the issue's audiences as data, and every way of writing
a policy that could not be enforced refused with a reason."""

from __future__ import annotations

import copy
import importlib
import pkgutil

import duckdb
import pytest
from permissions_support import policy_data

import flexpower_dagster
from flexpower_dagster.defs.permissions.policy import (
    PolicyError,
    declared_tables,
    parse_policy,
    unclassified,
)
from flexpower_dagster.lib.tables import TableSpec

#: What the issue keeps from internal audiences, by column name.
CONTACT = {"email", "customer_name", "customer_address", "customer_tax_number", "customer_vat_id", "owner_name"}
PRICES_AND_FEES = {
    "price_eur_per_mwh", "fee_eur", "fee_percent", "payout_eur_est", "fee_eur_est", "margin_known_eur", "margin_eur",
    "margin_caveat", "contract_problems", "problems", "unit_price", "unit_net_eur_per_mwh",
}
TRADE_DETAIL = {"trade_id"}
#: Tables whose price and fee columns are contract terms (elsewhere a price is the market's).
CONTRACT_TABLES = {"marts.contracts_in_force", "marts.asset_performance", "marts.invoices", "marts.invoice_lines",
                   "staging.crm_contracts"}


def every_table_spec() -> dict[str, TableSpec]:
    """Every TableSpec any module of the package declares at module level (Dagster modules included)."""
    found = {}
    for info in pkgutil.walk_packages(flexpower_dagster.__path__, prefix="flexpower_dagster."):
        if info.name.endswith("__main__"):
            continue
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, TableSpec):
                found[value.qualified_name] = value
    return found


def columns_granted(policy, audience: str) -> dict[str, set[str]]:
    return {t: set(g.columns) for t, g in policy.audiences[audience].grants.items()}


# ------------------------------------------------------------------------------------------- every table decided


def test_every_declared_table_is_classified(policy):
    specs = every_table_spec()
    assert set(specs) <= set(declared_tables()), "a TableSpec outside a domain's tables.py: add its module"
    assert unclassified(policy, set(specs)) == []
    assert unclassified(policy) == []


def test_every_table_and_view_of_a_batch_is_classified(policy, permissions_warehouse):
    with duckdb.connect(str(permissions_warehouse.warehouse), read_only=True) as conn:
        objects = {f"{s}.{t}" for s, t in conn.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    assert {"marts.invoices", "marts.alerts", "marts.data_quality_results", "staging.vpp_forecasts"} <= objects
    assert unclassified(policy, objects) == []


def test_an_unclassified_table_is_reported_and_denied(policy):
    new = TableSpec("marts", "new_mart", (policy.tables["marts.trading_daily"].columns[0],), key=())
    tables = {**policy.tables, new.qualified_name: new}
    grown = parse_policy(policy_data(), tables)
    assert unclassified(grown) == ["marts.new_mart"]
    assert all("marts.new_mart" not in a.grants for a in grown.audiences.values())


# ---------------------------------------------------------------------------------------- the issue's audiences


def test_the_audiences_of_the_issue(policy):
    assert list(policy.audiences) == ["data-engineering", "trading", "finance", "management", "customer"]
    assert policy.audiences["data-engineering"].everything
    assert [a.name for a in policy.internal_audiences()] == ["data-engineering", "trading", "finance", "management"]
    assert policy.audiences["customer"].scope == "customer"


def test_trading_gets_no_contact_data_invoices_prices_or_fees(policy):
    granted = columns_granted(policy, "trading")
    assert not any(t.startswith("marts.invoice") for t in granted)
    assert {t: cols & CONTACT for t, cols in granted.items() if cols & CONTACT} == {}
    # contract prices and fees (a trade's or an imbalance price is market data, the desk's own business)
    terms = {t: granted[t] & PRICES_AND_FEES for t in CONTRACT_TABLES if t in granted and granted[t] & PRICES_AND_FEES}
    assert terms == {}
    assert {"marts.asset_forecast", "marts.best_of_infeed", "marts.trading_qh", "marts.imbalance", "marts.position_qh",
            "staging.exchange_public_trades", "staging.imbalance_price_final", "marts.portfolio_forecast"} <= set(granted)


def test_finance_gets_terms_and_invoices_but_no_trade_detail(policy):
    granted = columns_granted(policy, "finance")
    assert {"marts.contracts_in_force", "marts.invoices", "marts.invoice_lines", "marts.imbalance",
            "marts.trading_daily"} <= set(granted)
    assert {"price_eur_per_mwh", "fee_eur", "fee_percent", "email"} <= granted["marts.contracts_in_force"]
    assert not any(cols & TRADE_DETAIL for cols in granted.values())


def test_management_gets_kpis_and_performance_without_contact_data_or_trades(policy):
    granted = columns_granted(policy, "management")
    assert {"marts.portfolio_forecast", "marts.portfolio_best_of_infeed", "marts.portfolio_imbalance",
            "marts.trading_daily", "marts.asset_performance"} <= set(granted)
    assert not any(cols & (CONTACT | TRADE_DETAIL) for cols in granted.values())


def test_a_customer_gets_only_filtered_tables_of_its_own_business(policy):
    customer = policy.audiences["customer"]
    assert all(g.rows is not None for g in customer.grants.values())
    assert set(customer.grants) == {
        "marts.contracts_in_force", "marts.best_of_infeed", "marts.live_infeed", "marts.asset_forecast",
        "marts.asset_performance", "marts.invoices", "marts.invoice_lines",
    }
    never = {"tradeable_mw", "tradeable_mwh", "trading_revenue_eur", "imbalance_cost_eur", "market_value_eur",
             "payout_eur_est", "fee_eur_est", "margin_eur", "html_path", "pdf_path", "eml_path", "source_file"}
    assert {t: set(g.columns) & never for t, g in customer.grants.items() if set(g.columns) & never} == {}


# ------------------------------------------------------------------------------------------------ resolution


def test_resolve_customer_and_internal_names(policy):
    g = policy.resolve("customer:Maria.Schmidt@EnergyPartners.de")
    assert (g.audience.name, g.scope, g.scope_value, g.name) == (
        "customer", "customer", "maria.schmidt@energypartners.de", "customer:maria.schmidt@energypartners.de")
    assert policy.resolve("trading").scope_value is None
    for bad, message in [("sales", "unknown audience"), ("trading:desk", "takes no scope"),
                         ("customer:", "needs a customer"), ("customer", "needs a customer")]:
        with pytest.raises(PolicyError, match=message):
            policy.resolve(bad)


# ------------------------------------------------------------------------------------------------- refusals


def _with(change) -> dict:
    data = copy.deepcopy(policy_data())
    change(data)
    return data


def _set(path: list[str], value):
    def change(data):
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return change


REFUSED = [
    (_set(["audiences", "trading", "tables", "marts.no_such_table"], "*"), "unknown table 'marts.no_such_table'"),
    (_set(["audiences", "trading", "tables", "marts.trading_daily"], ["revenue_eur", "profit"]), r"no column\(s\) \['profit'\]"),
    (_set(["audiences", "trading", "tables", "marts.trading_daily"], ["revenue_eur; DROP TABLE x"]), "not a column name"),
    (_set(["audiences", "trading", "tables", "marts.trading_daily"], []), "non-empty list"),
    (_set(["audiences", "trading", "tables", "marts.trading_daily"], ["revenue_eur", "revenue_eur"]), "listed twice"),
    (_set(["audiences", "trading", "tables", "marts.data_quality_checks"], "*"), "is a view"),
    (_set(["audiences", "trading", "tables", "marts.trading_daily"], {"columns": "*", "rows": "asset"}),
     "needs a scoped audience"),
    (_set(["audiences", "customer", "tables", "marts.portfolio_forecast"], "*"), "has no row filter"),
    (_set(["audiences", "customer", "tables", "marts.trading_daily"], {"rows": "contract"}),
     r"cannot be filtered by contract: it has no \['contract_id'\]"),
    (_set(["audiences", "customer", "tables", "marts.invoices"], {"rows": "asset"}),
     r"cannot be filtered by asset: it has no \['delivery_day'\]"),
    (_set(["audiences", "customer", "tables", "marts.invoices"], {"rows": "region"}), "not one of"),
    (_set(["audiences", "customer", "tables", "marts.invoices"], {"rows": "contract", "where": "1=1"}), "unknown key"),
    (_set(["audiences", "customer", "scope"], "contract"), "'customer' is not one of"),
    (_set(["audiences", "customer", "scope"], "region"), "scope 'region'"),
    (_set(["audiences", "../etc", "tables"], {"marts.trading_daily": "*"}), "lower-case words"),
    (_set(["audiences", "Ops Team", "tables"], {"marts.trading_daily": "*"}), "lower-case words"),
    (_set(["audiences", "data-engineering", "tables"], {"marts.trading_daily": "*"}), "'everything' stands alone"),
    (_set(["audiences", "empty"], {"description": "nothing"}), "no tables"),
    (_set(["audiences", "trading", "rows"], "asset"), "unknown key"),
    (_set(["data_engineering_only", "marts.trading_daily"], "why"), "granted to an audience as well"),
    (_set(["data_engineering_only", "marts.nothing"], "why"), "unknown table"),
    (_set(["extra"], {}), "unknown top-level"),
    (lambda data: data.update(audiences={}), "no audience"),
]


@pytest.mark.parametrize(("change", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_a_policy_that_cannot_be_enforced_is_refused(policy, change, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(_with(change), policy.tables)


def test_the_shipped_policy_parses_as_data(policy):
    again = parse_policy(policy_data(), policy.tables)
    assert again.audiences == policy.audiences
    assert policy.sha256 and len(policy.sha256) == 64
