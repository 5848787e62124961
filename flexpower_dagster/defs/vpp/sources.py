"""Landing-zone sources of the VPP domain (pure, no Dagster): technical data, forecasts, live samples."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta

from flexpower_dagster.defs.vpp.parser import (
    forecast_columns,
    forecast_file_info,
    live_columns,
    live_file_info,
    parse_forecast,
    parse_live,
)
from flexpower_dagster.defs.vpp.tables import VPP_FORECASTS, VPP_LIVE_SAMPLES, VPP_TECHNICAL_DATA
from flexpower_dagster.defs.vpp.technical_data import parse_technical_data, technical_data_time
from flexpower_dagster.lib.landing.source import LandingFile, SourceSpec, days_between

#: A forecast version T covers the quarter-hours starting T .. T+48h: [T, T+48h+15min).
FORECAST_HORIZON = timedelta(hours=48, minutes=15)


def _safe(fn, basename: str) -> datetime:
    """File time from the name; a name that is no real instant sorts oldest (the parser rejects it)."""
    try:
        return fn(basename)
    except ValueError:
        return datetime.min


def technical_data_file_time(basename: str) -> datetime:
    return _safe(technical_data_time, basename)


def forecast_file_time(basename: str) -> datetime:
    return _safe(lambda b: forecast_file_info(b)[1], basename)


def forecast_days(f: LandingFile) -> frozenset[date]:
    """UTC days a forecast version touches, from the name: version T covers [T, T+48h+15min)."""
    t = forecast_file_time(f.basename)
    if t == datetime.min:
        return frozenset()
    return _version_days(t)


@functools.lru_cache(maxsize=65_536)  # 96 versions a day: 680 days (4,096 thrashed over a 205-day zone)
def _version_days(t: datetime) -> frozenset[date]:
    """The days of version ``t``: one computation per version time (a version is one file per asset)."""
    return days_between(t, t + FORECAST_HORIZON)


def live_file_time(basename: str) -> datetime:
    return _safe(lambda b: live_file_info(b)[1], basename)


def live_days(f: LandingFile) -> frozenset[date]:
    """The file's date is the German local day D (22:00Z/23:00Z D-1 .. D): it touches UTC days D-1 and D."""
    t = live_file_time(f.basename)
    if t == datetime.min:
        return frozenset()
    return frozenset({t.date() - timedelta(days=1), t.date()})


VPP_TECHNICAL_DATA_SOURCE = SourceSpec(
    name="vpp_technical_data",
    system="vpp",
    folder="vpp/technical_data",
    pattern=re.compile(r"technical_data_\d{4}-\d{2}-\d{2}T\d{6}Z\.json"),
    table=VPP_TECHNICAL_DATA,
    parse=parse_technical_data,
    kind="snapshot",
    file_time=technical_data_file_time,
    row_key=("asset_id",),
    description=(
        "Technical data of every asset (name, technology, location, capacity in MW, status, owner) from the "
        "newest VPP snapshot taken before the delivery day ends. Used for plausibility (capacity, location) "
        "and to cross-check the CRM contracts."
    ),
)

VPP_FORECASTS_SOURCE = SourceSpec(
    name="vpp_forecasts",
    system="vpp",
    folder="vpp/forecasts",
    pattern=re.compile(r"forecast_.+_\d{4}-\d{2}-\d{2}T\d{6}Z\.json"),
    table=VPP_FORECASTS,
    parse=parse_forecast,
    parse_columns=forecast_columns,
    kind="events",
    file_time=forecast_file_time,
    time_column="delivery_start",
    days_covered=forecast_days,
    row_key=("asset_id", "version", "delivery_start"),
    defines_days=True,
    description=(
        "Every forecast version's power (MW) for every quarter-hour of the delivery day, one row per "
        "(asset, version, QH). A version file covers 48 h ahead, so it feeds up to three delivery days. "
        "Basis of the latest and tradeable (gate-closure) forecasts, the portfolio forecast and imbalance."
    ),
)

VPP_LIVE_SAMPLES_SOURCE = SourceSpec(
    name="vpp_live_samples",
    system="vpp",
    folder="vpp/live_measured_infeed",
    pattern=re.compile(r"[A-Za-z0-9-]+_\d{8}\.json"),
    table=VPP_LIVE_SAMPLES,
    parse=parse_live,
    parse_columns=live_columns,
    kind="events",
    file_time=live_file_time,
    time_column="timestamp",
    days_covered=live_days,
    row_key=("asset_id", "timestamp"),
    defines_days=True,
    description=(
        "Live measured power samples (about one a minute, irregular) per asset in MW, from the VPP files "
        "of the German local days that overlap the UTC delivery day. The asset id comes from the file's key "
        "(asset_id or entity_id), not from the short code in the file name. Feeds the live infeed per QH, "
        "the second choice of best-of-infeed when final DSO data is missing."
    ),
)
