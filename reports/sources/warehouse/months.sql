-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["months"]) in the warehouse snapshot
select * from report.months
