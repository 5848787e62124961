"""The two lanes of the run queue (docs/automation.md, "Concurrency"): one warehouse writer, one site builder.

DuckDB allows one writer *or* many readers of a file, across processes, never both. Every step that opens the live
warehouse (every staging asset, mart, check, invoice month, statement, the alerts and the snapshots) is in the pool
:data:`WAREHOUSE_POOL`; the steps that only read the read-only snapshots and write files (the report site's Evidence
build, the audience sites and their leak scans) are in the pool :data:`SITE_POOL` and receive no warehouse resource.

``dagster.yaml`` applies the pools per *run* (``concurrency: pools: granularity: run``, ``default_limit: 1``): the
queue admits a run only while no run in progress holds a pool of one of its steps, so at most one run that opens the
warehouse is in progress (the one-writer rule, as before), and beside it at most one run building sites, which
never opens it. ``max_concurrent_runs: 2``: a forecast landing while a site is built waits for no Evidence build.

:func:`ensure_pool_limits` writes the limits into the instance before the daemon starts (``make dev``, the desk
benchmark): Dagster initialises a pool's default limit on the first queue pass that sees it but reads the limits
before that, so on that very first pass two writer runs could be admitted together.
"""

from __future__ import annotations

import dagster as dg

#: Steps that open the live warehouse: one run holding it at a time.
WAREHOUSE_POOL = "warehouse"
#: Steps that build the sites from the snapshots (Evidence: both cores and ~3 GB each): one run at a time.
SITE_POOL = "site"
POOLS = (WAREHOUSE_POOL, SITE_POOL)


def ensure_pool_limits(instance: dg.DagsterInstance) -> dict[str, int]:
    """Write the instance's default pool limit (``concurrency: pools: default_limit``) for every pool that has no limit
    yet (a limit a person set in the UI is kept); nothing when the profile limits no pool (the cluster profile:
    DuckLake has several writers). Returns pool -> limit."""
    if instance.global_op_concurrency_default_limit is None:
        return {}
    storage = instance.event_log_storage
    for pool in POOLS:
        storage.initialize_concurrency_limit_to_default(pool)
    limits = {p.name: p.limit for p in storage.get_pool_limits()}
    return {p: limits[p] for p in POOLS if p in limits}


if __name__ == "__main__":  # make dev: before `dagster dev` starts the daemon
    with dg.DagsterInstance.get() as _instance:
        print("pools: " + ", ".join(f"{p}={n}" for p, n in ensure_pool_limits(_instance).items()))
