-- Europe/Berlin wall-clock time of every UTC quarter-hour (computed with zoneinfo: DuckDB here has no ICU)
select * from report.qh_time
