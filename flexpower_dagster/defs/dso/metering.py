"""Rules that check a parsed DSO file against other data (pure: no Dagster).

* ``unknown-metering-point`` — the metering point of a final-production or redispatch-flag file must
  belong to a contract of the day's CRM snapshot (``staging.crm_contracts`` of the same delivery day);
  the file is rejected otherwise (its rows would have no asset).
* ``ambiguous-metering-point`` — the snapshot maps the metering point to more than one asset.
* ``metering-point-to-asset`` — ``asset_id`` is filled from that snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.load import Validator


def metering_point_map(contracts: pd.DataFrame | None) -> pd.DataFrame:
    """Per metering_point_id of a contract snapshot: ``asset_id`` (first), ``n_assets``, ``assets`` (text)."""
    if contracts is None or not len(contracts) or "metering_point_id" not in contracts.columns:
        return pd.DataFrame({"asset_id": [], "n_assets": [], "assets": []}, index=pd.Index([], name="metering_point_id"))
    pairs = contracts.loc[contracts["metering_point_id"].notna(), ["metering_point_id", "asset_id"]].drop_duplicates()
    pairs = pairs.sort_values(["metering_point_id", "asset_id"])
    g = pairs.groupby("metering_point_id")["asset_id"]
    return pd.DataFrame({"asset_id": g.first(), "n_assets": g.nunique(), "assets": g.agg(", ".join)})


def map_metering_points(name: str, df: pd.DataFrame, mapping: pd.DataFrame, day: date, header_row: int | None) -> pd.DataFrame:
    """Fill ``asset_id`` from ``mapping``; raise for unknown or ambiguous metering points."""
    if not len(df):
        return df
    mps = pd.Index(df["metering_point_id"].unique())
    unknown = mps.difference(mapping.index)
    if len(unknown):
        known = ", ".join(sorted(mapping.index)) or "none: no CRM snapshot for the day"
        raise SourceFileError(
            name,
            "unknown-metering-point",
            f"metering point {unknown[0]!r} has no contract in the CRM snapshot of {day} (known: {known})",
            row=header_row,
        )
    ambiguous = mapping.loc[mps].query("n_assets != 1")
    if len(ambiguous):
        mp = ambiguous.index[0]
        raise SourceFileError(
            name,
            "ambiguous-metering-point",
            f"metering point {mp!r} maps to assets {ambiguous['assets'].iloc[0]} in the CRM snapshot of {day}",
            row=header_row,
        )
    return df.assign(asset_id=df["metering_point_id"].map(mapping["asset_id"]).astype("object"))


def metering_point_validator(header_row: int | None):
    """``make_validator(day, inputs)`` for build_staging_asset, using ``inputs['crm_contracts']``."""

    def make_validator(day: date, inputs: Mapping[str, pd.DataFrame]) -> Validator:
        mapping = metering_point_map(inputs.get("crm_contracts"))

        def validate(name: str, df: pd.DataFrame) -> pd.DataFrame:
            return map_metering_points(name, df, mapping, day, header_row)

        return validate

    return make_validator
