"""Shared Dagster glue: partitions, resources, the warehouse IO manager and the staging factory."""
