"""Staging assets of the imbalance prices: estimates (AEP-Schätzer) and final reBAP (may have gaps)."""

import pandas as pd

from flexpower_dagster.defs.imbalance_prices import sources
from flexpower_dagster.platform.staging import build_staging_asset


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


imbalance_price_estimates = build_staging_asset(sources.ESTIMATES, summarize=summarize_estimates)
imbalance_price_final = build_staging_asset(sources.FINAL, summarize=summarize_final)
