-- the KPI targets the tiles show (flexpower_dagster/defs/reporting/kpi_targets.toml; none: no row)
select * from report.kpi_targets
