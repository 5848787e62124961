"""What a customer's monthly statement may show, read for every customer of the month at once (pure: DuckDB, no
Dagster).

Nothing here decides who sees what: every row comes through the permissions policy's ``customer`` audience
(``defs/permissions/policy.toml``) with its grants (tables, columns) and its row filters, by
:func:`flexpower_dagster.defs.permissions.snapshot.scoped_select` in its keyed form: one query per table tags each
row with the customer (``scope_value``, the contract e-mail trimmed and lower-cased) it belongs to, so a customer's
rows here are exactly the rows of its own snapshot (``customer:<e-mail>``), restricted to the month. The statement's
aggregates are SQL over those scoped relations, never over the warehouse tables themselves: a column the customer is
not granted cannot even be named.

Set-based for 1,000 customers: five queries a month, whatever the number of customers (no per-customer query, no
per-customer snapshot file, no per-customer Evidence build).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import pandas as pd

from flexpower_dagster.defs.permissions.policy import Grant, Policy
from flexpower_dagster.defs.permissions.snapshot import existing_objects, scope_cte, scoped_select

#: The customer audience of the policy (a template: ``customer:<e-mail>``).
CUSTOMER_AUDIENCE = "customer"
CONTRACTS, INFEED, PERFORMANCE = "marts.contracts_in_force", "marts.best_of_infeed", "marts.asset_performance"
INVOICES, LINES = "marts.invoices", "marts.invoice_lines"
#: The tables a statement reads; each must be granted to the customer audience (checked: :func:`grants`).
STATEMENT_TABLES = (CONTRACTS, INFEED, PERFORMANCE, INVOICES, LINES)

#: Per customer, asset and day: infeed (best-of-infeed) with its sources, redispatch, and the forecast and its
#: accuracy (``asset_performance``, latest forecast), from the scoped relations ``bof`` and ``perf``.
DAILY_SQL = """
WITH {scope}, bof AS ({bof}), perf AS ({perf}),
daily AS (
    SELECT scope_value, delivery_day, asset_id,
           count(*) AS n_qh,
           sum(mwh) AS infeed_mwh,
           count(*) FILTER (WHERE source = 'final') AS n_qh_final,
           count(*) FILTER (WHERE source = 'live') AS n_qh_live,
           count(*) FILTER (WHERE source LIKE 'forecast%') AS n_qh_forecast,
           count(*) FILTER (WHERE source = 'missing' OR mwh IS NULL) AS n_qh_missing,
           count(*) FILTER (WHERE redispatched) AS n_qh_redispatched,
           sum(forecast_mw * 0.25) FILTER (WHERE redispatched) AS redispatched_forecast_mwh
    FROM bof GROUP BY scope_value, delivery_day, asset_id
)
SELECT d.*, p.latest_forecast_mwh AS forecast_mwh, p.latest_n_qh AS forecast_n_qh,
       p.latest_mae_pct_capacity AS forecast_mae_pct_capacity, p.latest_bias_mwh AS forecast_bias_mwh
FROM daily d
LEFT JOIN (SELECT DISTINCT ON (scope_value, delivery_day, asset_id) * FROM perf
           ORDER BY scope_value, delivery_day, asset_id, contract_id) p
  ON p.scope_value = d.scope_value AND p.delivery_day = d.delivery_day AND p.asset_id = d.asset_id
ORDER BY d.scope_value, d.asset_id, d.delivery_day
"""

#: Per customer and contract: the newest row of the month (terms, e-mail as written) and its days in force.
CONTRACTS_SQL = """
WITH {scope}, c AS ({contracts})
SELECT scope_value, contract_id,
       arg_max(asset_id, delivery_day) AS asset_id,
       arg_max(metering_point_id, delivery_day) AS metering_point_id,
       arg_max(technology, delivery_day) AS technology,
       arg_max(capacity_mw, delivery_day) AS capacity_mw,
       arg_max(price_model, delivery_day) AS price_model,
       arg_max(fee_model, delivery_day) AS fee_model,
       arg_max(email, delivery_day) AS email,
       min(delivery_day) AS first_day, max(delivery_day) AS last_day, count(DISTINCT delivery_day) AS days_in_force
FROM c GROUP BY scope_value, contract_id ORDER BY scope_value, contract_id
"""

MONTH_SQL = "WITH {scope}, r AS ({rel}) SELECT * FROM r WHERE invoice_month = $month ORDER BY ALL"


@dataclass
class CustomerMonth:
    """One customer's rows of a month, as the policy lets that customer see them."""

    customer: str  # the key: the contract e-mail, trimmed, lower case
    contracts: pd.DataFrame
    daily: pd.DataFrame
    invoices: pd.DataFrame
    lines: pd.DataFrame
    emails: list[str] = field(default_factory=list)  # the contracts' addresses as the CRM writes them


def grants(policy: Policy) -> dict[str, Grant]:
    """The customer audience's grants of the tables a statement reads; refuses a policy that does not grant them
    with a row filter (the statement must not read anything the customer could not download themselves)."""
    audience = policy.audiences.get(CUSTOMER_AUDIENCE)
    if audience is None or audience.scope != "customer":
        raise ValueError(f"the policy has no customer-scoped audience {CUSTOMER_AUDIENCE!r}: no statement can be scoped")
    missing = [t for t in STATEMENT_TABLES if t not in audience.grants or audience.grants[t].rows is None]
    if missing:
        raise ValueError(f"the policy's {CUSTOMER_AUDIENCE!r} audience is not granted {missing} with a row filter: "
                         "the statements read only what a customer may see")
    return {t: audience.grants[t] for t in STATEMENT_TABLES}


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def read_customer_months(conn: duckdb.DuckDBPyConnection, policy: Policy, month: date) -> list[CustomerMonth]:
    """Every customer with a contract in force in ``month`` (sorted by key), with its scoped rows of the month."""
    g = grants(policy)
    existing = existing_objects(conn)
    scope = scope_cte("customer", existing, every=True, window=True)
    params = {"first_day": month, "end_day": month_end(month)}

    def rel(table: str) -> str:
        return scoped_select(g[table], policy, existing, keyed=True)

    daily = conn.execute(DAILY_SQL.format(scope=scope, bof=rel(INFEED), perf=rel(PERFORMANCE)), params).fetchdf()
    contracts = conn.execute(CONTRACTS_SQL.format(scope=scope, contracts=rel(CONTRACTS)), params).fetchdf()
    month_params = {**params, "month": month}
    invoices = conn.execute(MONTH_SQL.format(scope=scope, rel=rel(INVOICES)), month_params).fetchdf()
    lines = conn.execute(MONTH_SQL.format(scope=scope, rel=rel(LINES)), month_params).fetchdf()

    def split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return {k: f.drop(columns="scope_value").reset_index(drop=True) for k, f in frame.groupby("scope_value", sort=True)}

    by = {name: split(frame) for name, frame in
          (("contracts", contracts), ("daily", daily), ("invoices", invoices), ("lines", lines))}
    empty = {name: frame.drop(columns="scope_value").iloc[0:0] for name, frame in
             (("contracts", contracts), ("daily", daily), ("invoices", invoices), ("lines", lines))}
    out = []
    for customer in sorted(by["contracts"]):
        parts = {name: by[name].get(customer, empty[name]) for name in by}
        emails = sorted({str(e).strip() for e in parts["contracts"]["email"].dropna()})
        out.append(CustomerMonth(customer, parts["contracts"], parts["daily"], parts["invoices"], parts["lines"], emails))
    return out
