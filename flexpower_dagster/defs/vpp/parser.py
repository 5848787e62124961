"""Parsers of the virtual power plant (VPP) files (pure, no Dagster).

* :func:`~flexpower_dagster.defs.vpp.technical_data.parse_technical_data` — the technical-data snapshots
  (their own module);
* :func:`parse_forecast` — ``vpp/forecasts/forecast_<asset_id>_YYYY-MM-DDTHHMMSSZ.json``: one forecast
  version of one asset, columns ``start, end, version, power``;
* :func:`parse_live` — ``vpp/live_measured_infeed/<SHORT>_YYYYMMDD.json``: live samples, columns
  ``timestamp, value, quality``.

The two time-series files share one column-oriented layout
``{"key": {...}, "column_ids": [...], "units": [...], "values": [[...], ...]}`` (one array per column).

Rules (each raises :class:`SourceFileError`; ``row`` is the 0-based element index inside the value
arrays / the ``assets`` list where known, or the file line for JSON syntax errors):

================================  ================================================================
``empty-file``                    no bytes / only whitespace
``encoding``                      not UTF-8 (JSON is UTF-8 by RFC 8259; a BOM is tolerated)
``truncated-json``                the document ends before it is complete (cut-off transfer)
``invalid-json``                  any other JSON syntax error (line and column in the detail)
``structure``                     wrong shape: missing ``key``/``column_ids``/``units``/``values``,
                                  ``assets`` not a list of objects, ``values`` not arrays, ...
``missing-columns``               a required column id is absent (forecast: start, version, power;
                                  live: timestamp, value)
``units-shape``                   ``column_ids``, ``units`` and ``values`` differ in length
``unequal-lengths``               the value arrays of one file differ in length
``no-values``                     the arrays / the asset list are empty
``non-numeric``                   a value that is not a number (index of the element)
``missing-timestamp``             a null timestamp
``timestamp-unit-by-magnitude``   the time unit is detected from the magnitude, never from the
                                  declared unit: forecasts declare ``ms`` but deliver **seconds**,
                                  live files deliver real ``ms``; values of no plausible unit or of
                                  mixed units (outside 2000..2100 once converted) are rejected
``unknown-unit``                  a power unit other than W / kW / MW (converted to MW)
``quarter-hour-grid``             a forecast interval that is not a quarter-hour on the QH grid
``duplicate-timestamp``           the same instant twice in one file (forecast start / live sample)
``live-key-asset-or-entity-id``   live key carries the asset as ``asset_id`` *or* ``entity_id``;
                                  neither, or both with different values, is an error
``missing-asset-id``              forecast key / technical-data asset without an asset id
``duplicate-asset-id``            the same asset twice in one technical-data snapshot
``date``                          a commissioning date that is not ``YYYY-MM-DD``
``identifier``                    an asset id that is not an identifier (:mod:`flexpower_dagster.lib.identifiers`)
``file-name``                     the time in the file name is not a real instant
================================  ================================================================

Decisions: the asset id always comes from the payload's ``key`` (live: the file name's short code
such as ``WND01`` is not an asset id; forecasts: the file name's asset id is ignored too, so a
mislabelled file lands under the asset it actually describes). Forecast ``type_id`` is
``pv-forecast-real`` even for wind and is ignored. Null power values are kept as NULL.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flexpower_dagster.lib.bounds import POWER_MW, check_numbers
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.identifiers import require_identifier
from flexpower_dagster.lib.jsonparse import load_json, numeric

FORECAST_PATTERN = re.compile(r"forecast_(.+)_(\d{4}-\d{2}-\d{2}T\d{6})Z\.json")
LIVE_PATTERN = re.compile(r"([A-Za-z0-9-]+)_(\d{8})\.json")

QH = pd.Timedelta(minutes=15)

#: power unit (lower case) -> factor to MW
POWER_UNITS = {"w": 1e-6, "kw": 1e-3, "mw": 1.0}

#: magnitude of a 2000..2100 epoch instant per unit, and the factor to milliseconds
_TIME_UNITS = (("s", 1e11, 1e3), ("ms", 1e14, 1.0), ("us", 1e17, 1e-3), ("ns", 1e20, 1e-6))
_PLAUSIBLE_MS = (946684800000.0, 4102444800000.0)  # 2000-01-01, 2100-01-01 in epoch ms


# ------------------------------------------------------------------------------------------------
# file names


def forecast_file_info(basename: str) -> tuple[str, datetime]:
    """(asset id, version time) from ``forecast_<asset_id>_YYYY-MM-DDTHHMMSSZ.json``."""
    m = FORECAST_PATTERN.fullmatch(basename)
    if not m:
        raise ValueError(f"{basename} is not named forecast_<asset_id>_YYYY-MM-DDTHHMMSSZ.json")
    return m.group(1), datetime.strptime(m.group(2), "%Y-%m-%dT%H%M%S")


def live_file_info(basename: str) -> tuple[str, datetime]:
    """(short code, German local day at 00:00) from ``<SHORT>_YYYYMMDD.json``."""
    m = LIVE_PATTERN.fullmatch(basename)
    if not m:
        raise ValueError(f"{basename} is not named <SHORT>_YYYYMMDD.json")
    return m.group(1), datetime.strptime(m.group(2), "%Y%m%d")


# ------------------------------------------------------------------------------------------------
# shared helpers


def instants(name: str, column: str, values: pd.Series) -> pd.Series:
    """Epoch numbers -> naive UTC timestamps (see :func:`epoch_ms`)."""
    ms = epoch_ms(name, column, values)
    return pd.Series(ms.astype("datetime64[ms]").astype("datetime64[ns]"), index=values.index)


def epoch_ms(name: str, column: str, values: pd.Series) -> np.ndarray:
    """Epoch numbers -> naive UTC timestamps, the unit detected by magnitude (rule ``timestamp-unit-by-magnitude``).

    The declared unit is ignored on purpose: the forecast API declares ``ms`` but sends seconds.
    The unit is chosen from the median magnitude (2025 is ~1.7e9 s, ~1.7e12 ms, ~1.7e15 us), then
    every element must land in 2000..2100, which also catches a file mixing units.
    """
    v = values.to_numpy(dtype="float64")
    missing = np.isnan(v)
    if missing.any():
        i = int(missing.nonzero()[0][0])
        raise SourceFileError(name, "missing-timestamp", f"{column}[{i}] is null", i)
    magnitude = float(np.median(np.abs(v)))
    for unit, upper, to_ms in _TIME_UNITS:  # noqa: B007 (the matching unit is used after the loop)
        if magnitude < upper:
            break
    else:
        raise SourceFileError(name, "timestamp-unit-by-magnitude", f"{column}: magnitude {magnitude:.3g} fits no epoch unit")
    ms = np.round(v * to_ms)
    bad = (ms < _PLAUSIBLE_MS[0]) | (ms >= _PLAUSIBLE_MS[1])
    if bad.any():
        i = int(bad.nonzero()[0][0])
        raise SourceFileError(
            name,
            "timestamp-unit-by-magnitude",
            f"{column}[{i}] = {v[i]!r} is no plausible instant when read in {unit} like the rest of the column",
            i,
        )
    return ms.astype("int64")


def power_factor(name: str, unit: Any) -> float:
    factor = POWER_UNITS.get(str(unit).strip().lower())
    if factor is None:
        raise SourceFileError(name, "unknown-unit", f"power unit {unit!r} is none of W, kW, MW")
    return factor


def columns_of(name: str, doc: Any, required: tuple[str, ...]) -> tuple[dict, dict[str, list], dict[str, Any]]:
    """Validate the column-oriented layout; returns (key, values by column id, unit by column id)."""
    if not isinstance(doc, dict):
        raise SourceFileError(name, "structure", f"top level is a {type(doc).__name__}, not an object")
    absent = [k for k in ("key", "column_ids", "units", "values") if k not in doc]
    if absent:
        raise SourceFileError(name, "structure", f"object lacks {absent}")
    key, column_ids, units, values = doc["key"], doc["column_ids"], doc["units"], doc["values"]
    if not isinstance(key, dict):
        raise SourceFileError(name, "structure", "'key' is not an object")
    if not isinstance(column_ids, list) or not all(isinstance(c, str) for c in column_ids):
        raise SourceFileError(name, "structure", "'column_ids' is not a list of names")
    if not isinstance(units, list):
        raise SourceFileError(name, "structure", "'units' is not a list")
    if not isinstance(values, list) or not all(isinstance(v, list) for v in values):
        raise SourceFileError(name, "structure", "'values' is not a list of arrays (one per column)")
    if not (len(column_ids) == len(units) == len(values)):
        raise SourceFileError(
            name, "units-shape",
            f"{len(column_ids)} column_ids, {len(units)} units and {len(values)} value arrays must be equally many",
        )
    missing = [c for c in required if c not in column_ids]
    if missing:
        raise SourceFileError(name, "missing-columns", f"column_ids {column_ids} lack {missing}")
    lengths = [len(v) for v in values]
    if len(set(lengths)) > 1:
        j = next(i for i, n in enumerate(lengths) if n != lengths[0])
        raise SourceFileError(
            name, "unequal-lengths",
            f"values of {column_ids[j]!r} have {lengths[j]} elements, {column_ids[0]!r} has {lengths[0]}",
            min(lengths),
        )
    if not lengths or lengths[0] == 0:
        raise SourceFileError(name, "no-values", "the value arrays are empty")
    return key, dict(zip(column_ids, values)), dict(zip(column_ids, units))


def _first_duplicate(name: str, column: str, ts: pd.Series) -> None:
    dup = ts.duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise SourceFileError(name, "duplicate-timestamp", f"{column}[{i}] = {ts.iloc[i]} occurs more than once", i)


# ------------------------------------------------------------------------------------------------
# forecasts

FORECAST_COLUMNS = ["asset_id", "version", "delivery_start", "delivery_end", "mw"]


def _key_asset(name: str, key: dict, field: str) -> str:
    value = key.get(field)
    if not isinstance(value, str) or not value.strip():
        raise SourceFileError(name, "missing-asset-id", f"key has no {field}")
    return require_identifier(value.strip(), name, f"key {field}")


def parse_forecast(path: Path, name: str | None = None) -> pd.DataFrame:
    """One forecast version of one asset: one row per quarter-hour, power in MW.

    The asset id is the key's ``asset_id`` (not the file name's); timestamps are read by magnitude
    (declared ``ms``, really seconds); ``end`` may be absent (then ``start + 15 min``).
    """
    path = Path(path)
    name = name or path.name
    doc = load_json(path, name)
    key, values, units = columns_of(name, doc, ("start", "version", "power"))
    asset_id = _key_asset(name, key, "asset_id")

    start = epoch_ms(name, "start", numeric(name, "start", values["start"]))
    version = epoch_ms(name, "version", numeric(name, "version", values["version"]))
    qh_ms = 15 * 60 * 1000
    end = epoch_ms(name, "end", numeric(name, "end", values["end"])) if "end" in values else start + qh_ms
    mw = numeric(name, "power", values["power"]).to_numpy() * power_factor(name, units["power"])
    check_numbers(mw, name, "power", POWER_MW, "MW")

    off_grid = ((end - start) != qh_ms) | (start % qh_ms != 0)
    if off_grid.any():
        i = int(off_grid.nonzero()[0][0])
        a, b = (pd.Timestamp(int(x), unit="ms") for x in (start[i], end[i]))
        raise SourceFileError(name, "quarter-hour-grid", f"interval [{a}, {b}) is not a quarter-hour on the grid", i)
    dup = pd.Series(start).duplicated().to_numpy()
    if dup.any():
        i = int(dup.nonzero()[0][0])
        raise SourceFileError(
            name, "duplicate-timestamp", f"start[{i}] = {pd.Timestamp(int(start[i]), unit='ms')} occurs more than once", i
        )

    def ts(ms: np.ndarray) -> np.ndarray:
        return ms.astype("datetime64[ms]").astype("datetime64[ns]")

    return pd.DataFrame(
        {
            "asset_id": np.full(len(start), asset_id, dtype=object),
            "version": ts(version),
            "delivery_start": ts(start),
            "delivery_end": ts(end),
            "mw": mw.astype("float64"),
        }
    )


# ------------------------------------------------------------------------------------------------
# live samples

LIVE_COLUMNS = ["asset_id", "timestamp", "mw", "quality"]
LIVE_KEY_FIELDS = ("asset_id", "entity_id")


def live_asset_id(name: str, key: dict) -> str:
    """Rule ``live-key-asset-or-entity-id``: the asset is ``key.asset_id`` or ``key.entity_id``."""
    found = {f: key.get(f) for f in LIVE_KEY_FIELDS if isinstance(key.get(f), str) and key.get(f).strip()}
    ids = {v.strip() for v in found.values()}
    if not ids:
        raise SourceFileError(name, "live-key-asset-or-entity-id", f"key {key!r} has neither asset_id nor entity_id")
    if len(ids) > 1:
        raise SourceFileError(name, "live-key-asset-or-entity-id", f"key names two different assets {sorted(ids)!r}")
    return require_identifier(ids.pop(), name, "key asset_id/entity_id")


def parse_live(path: Path, name: str | None = None) -> pd.DataFrame:
    """One live-infeed file: one row per sample, MW, negative night values kept as delivered.

    The asset comes from the key (``asset_id`` or ``entity_id``), never from the file name's short
    code (``WND01``); timestamps are read by magnitude (really ms).
    """
    path = Path(path)
    name = name or path.name
    doc = load_json(path, name)
    key, values, units = columns_of(name, doc, ("timestamp", "value"))
    asset_id = live_asset_id(name, key)
    ts = instants(name, "timestamp", numeric(name, "timestamp", values["timestamp"]))
    mw = numeric(name, "value", values["value"]) * power_factor(name, units["value"])
    check_numbers(mw, name, "value", POWER_MW, "MW")
    quality = numeric(name, "quality", values["quality"]) if "quality" in values else pd.Series(np.nan, index=ts.index)
    _first_duplicate(name, "timestamp", ts)
    return pd.DataFrame({"asset_id": asset_id, "timestamp": ts, "mw": mw, "quality": quality}).loc[:, LIVE_COLUMNS]
