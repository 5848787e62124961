-- which warehouse tables the snapshot found (optional ones may be absent: pages then say so)
select * from report.tables
