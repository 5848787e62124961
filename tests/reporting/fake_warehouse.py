"""A small synthetic warehouse with the contract's columns, for building the site without the marts.

Used while the business-quantity marts are being built, and by the build-check test (which needs a
site but not real numbers). ``python tests/reporting/fake_warehouse.py /tmp/fake.duckdb``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SQL = """
CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS staging;
CREATE OR REPLACE TABLE marts.contracts_in_force AS
SELECT d::DATE AS delivery_day, c.* FROM range(DATE '2025-06-07', DATE '2025-06-10', INTERVAL 1 DAY) t(d),
(VALUES ('C-1','PV-DE-001','MP-PV-001',10.0,'solar','fixed',80.0,'fixed_as_produced',1.5,NULL,'a@x.de',true,NULL),
        ('C-2','WND-DE-002','MP-WN-002',20.0,'wind','market',NULL,'percent_of_market',NULL,5.0,'b@x.de',true,NULL),
        ('C-3','WND-DE-003','MP-WN-003',15.0,'wind','fixed',NULL,'fixed_as_produced',NULL,3.0,'c@x.de',false,'price missing'))
  c(contract_id, asset_id, metering_point_id, capacity_mw, technology, price_model, price_eur_per_mwh, fee_model, fee_eur, fee_percent, email, valid, problems);
CREATE OR REPLACE TABLE marts.asset_forecast AS
SELECT delivery_day, asset_id, ts AS delivery_start,
  greatest(0, capacity_mw * (0.5 + 0.4*sin(epoch(ts)/7200.0 + hash(asset_id)%7))) AS latest_mw, ts - INTERVAL 5 MINUTE AS latest_version,
  greatest(0, capacity_mw * (0.5 + 0.38*sin(epoch(ts)/7200.0 + hash(asset_id)%7))) AS tradeable_mw, ts - INTERVAL 20 MINUTE AS tradeable_version
FROM marts.contracts_in_force, range(delivery_day::TIMESTAMP, delivery_day::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 15 MINUTE) t(ts);
CREATE OR REPLACE TABLE marts.best_of_infeed AS
SELECT delivery_day, asset_id, delivery_start, latest_mw*0.97 AS mw, latest_mw*0.97*0.25 AS mwh,
  CASE WHEN asset_id='PV-DE-001' THEN 'final' WHEN hour(delivery_start) < 12 THEN 'live' ELSE 'forecast' END AS source
FROM marts.asset_forecast;
CREATE OR REPLACE TABLE marts.portfolio_forecast AS
SELECT delivery_day, delivery_start, sum(latest_mw) latest_mw, sum(tradeable_mw) tradeable_mw, count(*)::BIGINT n_assets FROM marts.asset_forecast GROUP BY ALL;
CREATE OR REPLACE TABLE marts.portfolio_best_of_infeed AS
SELECT delivery_day, delivery_start, sum(mw) mw, sum(mwh) mwh,
  sum(mwh) FILTER (source='final')/sum(mwh) final_share, coalesce(sum(mwh) FILTER (source='live'),0)/sum(mwh) live_share,
  coalesce(sum(mwh) FILTER (source LIKE 'forecast%'),0)/sum(mwh) forecast_share
FROM marts.best_of_infeed GROUP BY ALL;
CREATE OR REPLACE TABLE marts.trading_qh AS
SELECT delivery_day, delivery_start, tradeable_mw*0.25*(90+10*sin(epoch(delivery_start)/5000.0)) AS revenue_eur, 3::BIGINT n_trades,
  -tradeable_mw*0.25 net_volume_mwh, 0.0 bought_mwh, tradeable_mw*0.25 sold_mwh, 90+10*sin(epoch(delivery_start)/5000.0) vwap_eur_per_mwh,
  92+10*sin(epoch(delivery_start)/5000.0) market_vwap_eur_per_mwh
FROM marts.portfolio_forecast;
CREATE OR REPLACE TABLE marts.trading_daily AS
SELECT delivery_day, sum(revenue_eur) revenue_eur, sum(n_trades)::BIGINT n_trades, sum(net_volume_mwh) net_volume_mwh,
 sum(vwap_eur_per_mwh*sold_mwh)/sum(sold_mwh) vwap_eur_per_mwh, avg(market_vwap_eur_per_mwh) market_vwap_eur_per_mwh,
 sum(bought_mwh) bought_mwh, sum(sold_mwh) sold_mwh, 1000.0 market_volume_mwh FROM marts.trading_qh GROUP BY ALL;
CREATE OR REPLACE TABLE marts.imbalance AS
SELECT b.delivery_day, b.asset_id, b.delivery_start, b.mwh best_of_infeed_mwh, f.tradeable_mw*0.25 tradeable_forecast_mwh,
  b.mwh - f.tradeable_mw*0.25 imbalance_mwh, 100.0 + hour(b.delivery_start) price_eur_per_mwh,
  CASE WHEN hour(b.delivery_start) BETWEEN 10 AND 12 THEN 'estimate' ELSE 'final' END price_source,
  -(b.mwh - f.tradeable_mw*0.25)*(100.0 + hour(b.delivery_start)) cost_eur
FROM marts.best_of_infeed b JOIN marts.asset_forecast f USING (delivery_day, asset_id, delivery_start);
CREATE OR REPLACE TABLE marts.portfolio_imbalance AS
SELECT delivery_day, delivery_start, sum(imbalance_mwh) imbalance_mwh, max(price_eur_per_mwh) price_eur_per_mwh,
  -sum(imbalance_mwh)*max(price_eur_per_mwh) cost_eur, sum(cost_eur) sum_of_asset_costs_eur FROM marts.imbalance GROUP BY ALL;
CREATE OR REPLACE TABLE staging.exchange_private_trades AS
SELECT delivery_day, 'T' || row_number() OVER () trade_id, CASE WHEN n % 3 = 0 THEN 'BUY' ELSE 'SELL' END side,
  CASE WHEN n % 2 = 0 THEN 'hourly' ELSE 'quarter_hourly' END product, delivery_start,
  delivery_start + CASE WHEN n % 2 = 0 THEN INTERVAL 1 HOUR ELSE INTERVAL 15 MINUTE END delivery_end,
  delivery_start - INTERVAL 2 HOUR execution_time, vwap_eur_per_mwh price_eur_per_mwh, 1.5 volume_mw, 'EUR' currency, 'x.csv' source_file
FROM marts.trading_qh, range(3) r(n);
"""


def build(path: str | Path) -> Path:
    path = Path(path)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(SQL)
    finally:
        con.close()
    return path


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fake_warehouse.duckdb"))
