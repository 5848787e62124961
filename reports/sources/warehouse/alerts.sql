-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["alerts"]) in the warehouse snapshot
select * from report.alerts
