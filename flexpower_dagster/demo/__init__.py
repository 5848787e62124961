"""Deterministic synthetic landing zone in the exact formats of the real source files.

``python -m flexpower_dagster.demo --help``; see ``docs/demo.md``. Pure functions, no Dagster import:
one module per source system (``crm``, ``vpp``, ``dso``, ``exchange``, ``imbalance``), the simulated
truth in ``physics`` and the portfolio in ``portfolio``.
"""

from __future__ import annotations

from flexpower_dagster.demo.generate import (
    DEFAULT_ASSETS,
    DEFAULT_DAYS,
    DEFAULT_PUBLIC_TRADES,
    DEFAULT_SEED,
    DEFAULT_START,
    DemoSummary,
    generate,
)

__all__ = [
    "DEFAULT_ASSETS",
    "DEFAULT_DAYS",
    "DEFAULT_PUBLIC_TRADES",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "DemoSummary",
    "generate",
]
