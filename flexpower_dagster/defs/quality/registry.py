"""Every data-quality suite: each domain declares ``SUITES`` in ``defs/<domain>/expectations.py``.

Pure module (no Dagster, no GX). Add a domain's module here to get its checks built.
"""

from __future__ import annotations

import importlib

from flexpower_dagster.defs.quality.suites import Suite

SUITE_MODULES = (
    "flexpower_dagster.defs.crm.expectations",
    "flexpower_dagster.defs.vpp.expectations",
    "flexpower_dagster.defs.dso.expectations",
    "flexpower_dagster.defs.exchange.expectations",
    "flexpower_dagster.defs.imbalance_prices.expectations",
    "flexpower_dagster.defs.forecast.expectations",
    "flexpower_dagster.defs.infeed.expectations",
    "flexpower_dagster.defs.trading.expectations",
    "flexpower_dagster.defs.imbalance.expectations",
    "flexpower_dagster.defs.invoicing.expectations",
)


def all_suites() -> list[Suite]:
    suites: list[Suite] = []
    for module in SUITE_MODULES:
        suites.extend(importlib.import_module(module).SUITES)
    keys = [s.asset for s in suites]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError(f"several suites for {sorted(dup)}")
    return suites


def suite_for(asset: tuple[str, str] | str) -> Suite:
    key = tuple(asset.split("/")) if isinstance(asset, str) else tuple(asset)
    for s in all_suites():
        if s.asset == key:
            return s
    raise KeyError(asset)
