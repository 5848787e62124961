-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["asset_day"]) in the warehouse snapshot
select * from report.asset_day
