-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["invoices"]) in the warehouse snapshot
select * from report.invoices
