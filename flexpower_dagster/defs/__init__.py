"""Dagster definitions, one folder per domain. Each folder holds the domain's pure functions
(parsers, rules, SQL) next to the thin Dagster modules (assets, checks, sensors) that wire them."""
