-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["asset_mtd"]) in the warehouse snapshot
select * from report.asset_mtd
