-- when the snapshot was taken (UTC) and from which warehouse file
select * from report.snapshot
