-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["source_qh"]) in the warehouse snapshot
select * from report.source_qh
