-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["asset_qh"]) in the warehouse snapshot. Only the columns
-- the pages show: this is the largest table (assets x days x 96), and the browser reads one asset-day of it
-- (site.py rewrites its parquet file in small row groups ordered by day and asset, see ROW_GROUP_ROWS).
select day_key, asset_id, delivery_start, delivery_start_local, qh_berlin, qh_utc,
       latest_mw, tradeable_mw, latest_mwh, tradeable_mwh, bestof_mw, bestof_mwh, source,
       imbalance_mwh, imbalance_price_eur_per_mwh, price_source, price_label, imbalance_cost_eur, is_placeholder
from report.asset_qh
