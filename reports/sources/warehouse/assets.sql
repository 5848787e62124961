-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["assets"]) in the warehouse snapshot
select * from report.assets
