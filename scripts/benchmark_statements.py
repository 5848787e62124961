"""Measure the customer statements (issue 25, step 3) of one month at a given portfolio size.

Either over an existing warehouse (``--warehouse``, e.g. the demo's after ``make run``) or over a synthetic month
(``--assets N``): a warehouse holding only the tables a statement reads, at full size (N contracts in force every
day of the month, N x days x 96 best-of-infeed quarter-hours, N daily performance rows per day, N invoices with
2-3 lines each), customers holding one or more contracts (``--customers``). Values are synthetic; the cost of the
statements depends on the row counts, not on the values. Prints the time of reading the scoped rows (all customers),
of rendering (HTML + PDF) and of writing (wall and CPU seconds), the files' size and the peak RSS.

    .venv/bin/python scripts/benchmark_statements.py --assets 1000 --customers 1000 --month 2025-06-01
    .venv/bin/python scripts/benchmark_statements.py --warehouse data/warehouse/flexpower.duckdb --month 2025-06-01
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.defs.invoicing.parties import DEMO_ISSUER
from flexpower_dagster.defs.invoicing.tables import INVOICE_LINES, INVOICES
from flexpower_dagster.defs.performance.tables import ASSET_PERFORMANCE
from flexpower_dagster.defs.permissions.policy import load_policy
from flexpower_dagster.defs.statements.data import month_end, read_customer_months
from flexpower_dagster.defs.statements.files import render_month, write_month
from flexpower_dagster.lib.dbfile import open_reader


def synthetic_month(path: Path, n_assets: int, n_customers: int, month: date) -> None:
    """The five tables a statement reads, for ``n_assets`` contracts in force on every day of ``month``."""
    end = month_end(month)
    params = {"n": n_assets, "c": n_customers, "first": month, "end": end}
    with duckdb.connect(str(path)) as conn:
        for spec in (CONTRACTS_IN_FORCE, BEST_OF_INFEED, ASSET_PERFORMANCE, INVOICES, INVOICE_LINES):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema}")
            conn.execute(spec.ddl())
        conn.execute("""
            CREATE TEMP TABLE assets AS
            SELECT i, printf('SYN-DE-%04d', i) AS asset_id, printf('CON1_SYN-DE-%04d', i) AS contract_id,
                   printf('MP-SYN-%04d', i) AS metering_point_id,
                   printf('customer%04d@synthetic-%02d.example', i % $c, (i % $c) % 37) AS email,
                   CASE WHEN i % 2 = 0 THEN 'solar' ELSE 'wind' END AS technology, 1.0 + (i % 9) AS capacity_mw
            FROM range($n) t(i)""", {"n": params["n"], "c": params["c"]})
        conn.execute("""
            CREATE TEMP TABLE days AS
            SELECT CAST(d AS DATE) AS delivery_day FROM range(CAST($first AS TIMESTAMP), CAST($end AS TIMESTAMP),
                   INTERVAL 1 DAY) t(d)""", {"first": month, "end": end})
        conn.execute("""
            INSERT INTO marts.contracts_in_force BY NAME
            SELECT delivery_day, contract_id, asset_id, metering_point_id, capacity_mw, technology,
                   DATE '2024-01-01' AS contract_begin, CAST(NULL AS DATE) AS contract_end, 'fixed' AS price_model,
                   80.0 AS price_eur_per_mwh, 'fixed_as_produced' AS fee_model, 2.5 AS fee_eur, email, true AS valid,
                   'crm/synthetic.csv' AS source_file
            FROM assets, days""")
        conn.execute("""
            INSERT INTO marts.best_of_infeed BY NAME
            SELECT delivery_day, asset_id, delivery_day + q * INTERVAL 15 MINUTE AS delivery_start,
                   delivery_day + (q + 1) * INTERVAL 15 MINUTE AS delivery_end,
                   capacity_mw * 0.4 AS mw, capacity_mw * 0.1 AS mwh,
                   CASE WHEN q % 50 = 7 THEN 'forecast_redispatched' WHEN q < 80 THEN 'final' ELSE 'live' END AS source,
                   capacity_mw * 0.4 AS final_mw, capacity_mw * 0.4 AS live_mw, capacity_mw * 0.38 AS forecast_mw,
                   q % 50 = 7 AS redispatched, metering_point_id, contract_id
            FROM assets, days, range(96) r(q)""")
        conn.execute("""
            INSERT INTO marts.asset_performance BY NAME
            SELECT delivery_day, asset_id, contract_id, technology, capacity_mw, 96 AS n_qh, 96 AS n_qh_measured,
                   0 AS n_qh_missing, capacity_mw * 9.6 AS bestof_mwh, capacity_mw * 9.1 AS latest_forecast_mwh,
                   96 AS latest_n_qh, 4.2 AS latest_mae_pct_capacity, 0.5 AS latest_bias_mwh
            FROM assets, days""")
        conn.execute("""
            INSERT INTO marts.invoices BY NAME
            SELECT CAST($first AS DATE) AS invoice_month, printf('%s-%s', strftime(CAST($first AS DATE), '%Y-%m'), contract_id) AS invoice_id,
                   contract_id, asset_id, metering_point_id, email, 'fixed' AS price_model, 'fixed_as_produced' AS fee_model,
                   'provisional' AS status, 100000 AS net_cents, 19000 AS vat_cents, 119000 AS gross_cents,
                   1000.0 AS net_eur, 190.0 AS vat_eur, 1190.0 AS gross_eur
            FROM assets""", {"first": month})
        conn.execute("""
            INSERT INTO marts.invoice_lines BY NAME
            SELECT CAST($first AS DATE) AS invoice_month, printf('%s-%s', strftime(CAST($first AS DATE), '%Y-%m'), contract_id) AS invoice_id,
                   l AS line_no, contract_id,
                   CASE l WHEN 1 THEN 'infeed_payout' WHEN 2 THEN 'fee' ELSE 'redispatch_payout' END AS line_type,
                   CASE l WHEN 2 THEN 'customer_pays_flexpower' ELSE 'flexpower_pays_customer' END AS direction,
                   CASE l WHEN 1 THEN 'Infeed payout, fixed price 80.0 EUR/MWh' WHEN 2 THEN 'Service fee 2.5 EUR/MWh produced'
                        ELSE 'Redispatch payout at the DSO compensation price' END AS description,
                   capacity_mw * 288 AS volume_mwh, capacity_mw * 288 AS quantity, 'MWh' AS quantity_unit,
                   CASE l WHEN 1 THEN 80.0 WHEN 2 THEN 2.5 END AS unit_price,
                   CASE WHEN l < 3 THEN 'EUR/MWh' END AS unit_price_unit,
                   CAST(round(capacity_mw * 288 * CASE l WHEN 1 THEN 80.0 WHEN 2 THEN 2.5 ELSE 60.0 END * 100) AS BIGINT) AS net_cents,
                   0 AS vat_cents, 0 AS gross_cents, 0.19 AS vat_rate
            FROM assets, range(1, 4) r(l) WHERE l < 3 OR i % 5 = 0""", {"first": month})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, help="an existing warehouse (else a synthetic month is built)")
    ap.add_argument("--assets", type=int, default=1000)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--month", type=date.fromisoformat, default=date(2025, 6, 1))
    ap.add_argument("--out", type=Path, help="data directory to write into (default: a temporary one, removed)")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="customer-statements-bench-"))
    try:
        warehouse = args.warehouse
        if warehouse is None:
            warehouse = scratch / "synthetic.duckdb"
            started = time.monotonic()
            synthetic_month(warehouse, args.assets, args.customers, args.month)
            print(f"synthetic month: {args.assets} assets, {args.customers} customers, built in "
                  f"{time.monotonic() - started:.1f} s ({warehouse.stat().st_size / 2**20:.0f} MiB)")
        policy = load_policy()
        data_dir = args.out or scratch / "data"
        t0, c0 = time.monotonic(), time.process_time()
        with open_reader(warehouse) as conn:
            customers = read_customer_months(conn, policy, args.month)
        t1, c1 = time.monotonic(), time.process_time()
        statements = render_month(customers, args.month, DEMO_ISSUER, policy.sha256)
        t2, c2 = time.monotonic(), time.process_time()
        written = write_month(data_dir, args.month, statements)
        t3, c3 = time.monotonic(), time.process_time()
        result = {
            "customers": statements.customers, "contracts": sum(len(c.contracts) for c in customers),
            "daily_rows": sum(len(c.daily) for c in customers), "files": len(written),
            "mib": round(sum(len(f.content) for f in statements.files) / 2**20, 1),
            "read_s": round(t1 - t0, 1), "render_s": round(t2 - t1, 1), "write_s": round(t3 - t2, 1),
            "total_s": round(t3 - t0, 1),
            # CPU seconds of this process (DuckDB's threads included): what the wall time is on an idle core
            "read_cpu_s": round(c1 - c0, 1), "render_cpu_s": round(c2 - c1, 1), "write_cpu_s": round(c3 - c2, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "load_average": Path("/proc/loadavg").read_text().split()[:3],
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
