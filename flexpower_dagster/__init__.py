"""FlexPower RouteToMarket data platform (Dagster + DuckDB)."""
