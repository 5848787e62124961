"""Shared functional core: plain Python/SQL helpers with no Dagster import."""
