-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["dq_days"]) in the warehouse snapshot
select * from report.dq_days
