"""The regulator's imbalance prices as a landing source: estimates (AEP-Schätzer) and final reBAP (may have gaps)."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.imbalance_prices import sources
from flexpower_dagster.defs.imbalance_prices.expectations import IMBALANCE_PRICE_ESTIMATES_SUITE, IMBALANCE_PRICE_FINAL_SUITE
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.staging import StagingSource, from_frame


def missing_qhs(frame: pd.DataFrame) -> list[str]:
    """Quarter-hours of the delivery day without a row (HH:MM UTC)."""
    day = pd.Timestamp(frame["delivery_day"].iloc[0]).normalize()
    grid = pd.date_range(day, periods=96, freq="15min")
    missing = grid.difference(pd.DatetimeIndex(frame["delivery_start"]))
    return list(missing.strftime("%H:%M"))


def _price_stats(prefix: str, p: pd.Series) -> dict:
    return {
        f"mean_{prefix}_eur_per_mwh": float(p.mean()),
        f"min_{prefix}_eur_per_mwh": float(p.min()),
        f"max_{prefix}_eur_per_mwh": float(p.max()),
    }


def summarize_estimates(frame: pd.DataFrame) -> dict:
    missing = missing_qhs(frame)
    return {
        "qhs_priced": int(frame["price_eur_per_mwh"].notna().sum()),
        "qhs_missing": len(missing),
        "missing_qhs_utc": ", ".join(missing) or "none",
        "newest_published_at": str(frame["published_at"].max()),
        **_price_stats("price", frame["price_eur_per_mwh"]),
    }


def summarize_final(frame: pd.DataFrame) -> dict:
    missing = missing_qhs(frame)
    return {
        "qhs_priced": int(frame[["price_short_eur_per_mwh", "price_long_eur_per_mwh"]].notna().any(axis=1).sum()),
        "qhs_missing": len(missing),
        "missing_qhs_utc": ", ".join(missing) or "none",
        "qhs_short_ne_long": int((frame["price_short_eur_per_mwh"] != frame["price_long_eur_per_mwh"]).sum()),
        "newest_published_at": str(frame["published_at"].max()),
        **_price_stats("short_price", frame["price_short_eur_per_mwh"]),
        **_price_stats("long_price", frame["price_long_eur_per_mwh"]),
    }


IMBALANCE_PRICE_ESTIMATES = StagingSource(sources.ESTIMATES, suite=IMBALANCE_PRICE_ESTIMATES_SUITE, summarize=from_frame(summarize_estimates, sources.ESTIMATES.table))
IMBALANCE_PRICE_FINAL = StagingSource(sources.FINAL, suite=IMBALANCE_PRICE_FINAL_SUITE, summarize=from_frame(summarize_final, sources.FINAL.table))


@dg.component_instance
def imbalance_prices(context: dg.ComponentLoadContext) -> LandingSource:
    return LandingSource(system="imbalance_prices", sources=(IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL), desk_feed=True)
