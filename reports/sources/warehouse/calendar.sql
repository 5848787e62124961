-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["calendar"]) in the warehouse snapshot
select * from report.calendar
