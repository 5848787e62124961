-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["data_quality"]) in the warehouse snapshot
select * from report.data_quality
