-- built by flexpower_dagster/defs/reporting/sql.py (VIEWS["portfolio_mtd"]) in the warehouse snapshot
select * from report.portfolio_mtd
