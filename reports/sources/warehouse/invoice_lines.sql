-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["invoice_lines"]) in the warehouse snapshot
select * from report.invoice_lines
