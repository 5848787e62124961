"""Stratified time limits: each stage's steps get a limit that fits its work, enforced in the step.

A step that runs far longer than its stage ever needs is stuck (a lock that never clears, a pathological
file, a runaway query) and holds the one-writer run queue. :func:`limited` wraps an asset's compute
function: when the step overruns :data:`STAGE_LIMITS_SECONDS` of its stage, it is stopped with
:class:`StepTimeLimitExceeded` — a ``dagster.Failure`` that bypasses retry policies (running it again would
overrun again) — naming the step, the stage and the limit. The run fails, and the run-failure alert
(``defs/ops``) reports it with the run id and the step.

Mechanism: ``SIGALRM`` (``signal.setitimer``) in the run worker's main thread, where Dagster's in-process
executor runs the steps; the exception is raised at the next Python bytecode, and a DuckDB statement in
progress is interrupted as well (DuckDB's Python client checks for pending signals). Outside the main
thread (never the case with this project's executor) the limit is not enforced and the step logs so.
The outer limit of any run is Dagster's run monitoring (``dagster/max_runtime`` run tags set per job in
``jobs.py`` and ``max_runtime_seconds`` in dagster.yaml), enforced by the daemon under ``make dev``.

The limits are generous on purpose: 3–10x the measured time of a 1,000-asset day (docs/benchmarks.md),
scaled with ``FLEXPOWER_STEP_LIMIT_FACTOR`` (``Settings.step_limit_factor``, read where every setting is read) for
bigger portfolios or slower machines (docs/operations.md).
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

from flexpower_dagster.settings import Settings

#: Seconds a single step of each stage may run (before FLEXPOWER_STEP_LIMIT_FACTOR).
STAGE_LIMITS_SECONDS: dict[str, float] = {
    "staging": 1200.0,  # one source's files of a day (1,000-asset forecasts: ~10 min measured under load)
    "marts": 1800.0,  # one SQL mart over a day or a backfill range
    "contracts": 600.0,  # contracts in force: a few thousand rows
    "invoicing": 1800.0,  # a month of invoices, documents and e-mails
    "reporting": 3600.0,  # the Evidence site build and its browser-free check (~15 min at 1,000 assets under load)
    "operations": 300.0,  # the alert evaluation: a few SQL queries and the run history
}


class StepTimeLimitExceeded(dg.Failure):
    """A step ran longer than its stage's limit (not retried)."""


def limit_for(stage: str, settings: Settings | None = None) -> float:
    """The stage's limit scaled by the settings' step limit factor (the environment's settings by default)."""
    factor = (settings or Settings.from_env()).step_limit_factor
    return STAGE_LIMITS_SECONDS[stage] * factor


@contextmanager
def step_time_limit(stage: str, step: str, seconds: float | None = None, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Raise :class:`StepTimeLimitExceeded` in this block after ``seconds`` (default: the stage's limit)."""
    limit = limit_for(stage) if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread():
        if log is not None:
            log(f"step {step}: time limit of {limit:.0f} s ({stage}) not enforced outside the main thread")
        yield
        return
    started = time.monotonic()

    def _overrun(signum, frame):
        raise StepTimeLimitExceeded(
            description=(
                f"step {step} exceeded the {stage} stage's time limit of {limit:.0f} s (ran {time.monotonic() - started:.0f} s) "
                "and was stopped. It is not retried: look for what held it (a warehouse lock, a huge file), or raise "
                "FLEXPOWER_STEP_LIMIT_FACTOR for a bigger portfolio (docs/operations.md)."
            ),
            metadata={"stage": stage, "limit (s)": limit},
            allow_retries=False,
        )

    previous = signal.signal(signal.SIGALRM, _overrun)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def limited(stage: str) -> Callable[[Callable], Callable]:
    """Decorator for an asset compute function ``fn(context, ...)``: runs it under its stage's time limit.
    The signature (resources, context) is what Dagster sees, through ``functools.wraps``."""
    if stage not in STAGE_LIMITS_SECONDS:
        raise ValueError(f"unknown stage {stage!r}: one of {sorted(STAGE_LIMITS_SECONDS)}")

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(context, *args, **kwargs):
            step = getattr(context, "op_def", None)
            with step_time_limit(stage, step.name if step is not None else fn.__name__, log=context.log.warning):
                return fn(context, *args, **kwargs)

        return wrapper

    return decorate
