"""The project's benchmark harness (``make benchmark``; entry point ``scripts/benchmark.py``).

Plain Python, no Dagster import at module level and no import of the project's ingestion code: the
project is driven through its public entry points only (the demo generator's CLI, ``dagster asset
materialize`` on the code location of ``workspace.yaml``, the Dagster instance's event log, the
Definitions' sensors), so the harness measures whatever the project's internals become.

* :mod:`.zones` — N-asset landing zones from the demo generator, cached under ``build/benchmark/zones``;
* :mod:`.measure` — wall, CPU and peak RSS of a process tree;
* :mod:`.floor` — the floor: one DuckDB process that stages a day and computes the core marts;
* :mod:`.project` — the project's runs through the Dagster CLI, and their per-step breakdown;
* :mod:`.incremental` — one new forecast version for every asset;
* :mod:`.sensors` — sensor ticks over a large landing zone;
* :mod:`.report` — ``build/benchmark/results.json`` and the generated section of ``docs/benchmarks.md``.
"""
