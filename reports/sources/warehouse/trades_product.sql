-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["trades_product"]) in the warehouse snapshot
select * from report.trades_product
