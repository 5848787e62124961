-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["invoice_status"]) in the warehouse snapshot
select * from report.invoice_status
