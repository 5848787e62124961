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
``duplicate-key``                 an object repeats a key (two ``values``, two ``asset_id``): malformed
``duplicate-column``              ``column_ids`` repeats a column id
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
``forecast-horizon``              a forecast version does not hold every QH of its 48 h horizon (193 QHs
                                  from its first, both ends included, no gap): incomplete
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
from flexpower_dagster.lib.jsonparse import numeric_array, parse_json

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
    t = m.group(2)  # YYYY-MM-DDTHHMMSS; datetime() rejects an impossible instant like strptime, ~20x faster
    return m.group(1), datetime(int(t[0:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]), int(t[13:15]), int(t[15:17]))


def live_file_info(basename: str) -> tuple[str, datetime]:
    """(short code, German local day at 00:00) from ``<SHORT>_YYYYMMDD.json``."""
    m = LIVE_PATTERN.fullmatch(basename)
    if not m:
        raise ValueError(f"{basename} is not named <SHORT>_YYYYMMDD.json")
    return m.group(1), datetime.strptime(m.group(2), "%Y%m%d")


# ------------------------------------------------------------------------------------------------
# shared helpers


def epoch_ms(name: str, column: str, values: np.ndarray) -> np.ndarray:
    """Epoch numbers -> integer epoch milliseconds, the unit detected by magnitude (rule ``timestamp-unit-by-magnitude``).

    The declared unit is ignored on purpose: the forecast API declares ``ms`` but sends seconds.
    The unit is chosen from the median magnitude (2025 is ~1.7e9 s, ~1.7e12 ms, ~1.7e15 us), then
    every element must land in 2000..2100, which also catches a file mixing units.
    """
    v = np.asarray(values, dtype="float64")
    if len(v):  # fast path: the unit of the first element fits every element (then it is the median's unit too)
        first = abs(v[0])
        for _unit, upper, to_ms in _TIME_UNITS:
            if first < upper:
                ms = np.round(v * to_ms)
                if ((ms >= _PLAUSIBLE_MS[0]) & (ms < _PLAUSIBLE_MS[1])).all():  # False for NaN
                    return ms.astype("int64")
                break
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


def timestamps(ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds -> naive UTC ``datetime64[ns]``."""
    return ms.astype("datetime64[ms]").astype("datetime64[ns]")


def _first_duplicate(name: str, column: str, ms: np.ndarray) -> None:
    """Rule ``duplicate-timestamp``: the first element whose instant occurred earlier in the file."""
    if len(ms) < 2 or (np.diff(ms) > 0).all() or len(np.unique(ms)) == len(ms):
        return
    _, first = np.unique(ms, return_index=True)
    seen = np.zeros(len(ms), dtype=bool)
    seen[first] = True
    i = int((~seen).nonzero()[0][0])
    raise SourceFileError(name, "duplicate-timestamp", f"{column}[{i}] = {pd.Timestamp(int(ms[i]), unit='ms')} occurs more than once", i)


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
    repeated = next((i for i, c in enumerate(column_ids) if c in column_ids[:i]), None)
    if repeated is not None:  # dict(zip(...)) would silently keep the last array of that name
        raise SourceFileError(name, "duplicate-column", f"column_ids repeat {column_ids[repeated]!r} (element {repeated})")
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


# ------------------------------------------------------------------------------------------------
# forecasts

FORECAST_COLUMNS = ["asset_id", "version", "delivery_start", "delivery_end", "mw"]


def _key_asset(name: str, key: dict, field: str) -> str:
    value = key.get(field)
    if not isinstance(value, str) or not value.strip():
        raise SourceFileError(name, "missing-asset-id", f"key has no {field}")
    return require_identifier(value.strip(), name, f"key {field}")


def forecast_columns(data: bytes, name: str) -> dict[str, np.ndarray]:
    """One forecast version of one asset, from the file's bytes: one element per quarter-hour, power in MW
    (the columns of :data:`FORECAST_COLUMNS`, as numpy arrays: no per-file pandas work, which dominated a
    1,000-asset day).

    The asset id is the key's ``asset_id`` (not the file name's); timestamps are read by magnitude
    (declared ``ms``, really seconds); ``end`` may be absent (then ``start + 15 min``).
    """
    doc = parse_json(data, name)
    key, values, units = columns_of(name, doc, ("start", "version", "power"))
    asset_id = _key_asset(name, key, "asset_id")

    start = epoch_ms(name, "start", numeric_array(name, "start", values["start"]))
    version = epoch_ms(name, "version", numeric_array(name, "version", values["version"]))
    qh_ms = 15 * 60 * 1000
    end = epoch_ms(name, "end", numeric_array(name, "end", values["end"])) if "end" in values else start + qh_ms
    mw = numeric_array(name, "power", values["power"]) * power_factor(name, units["power"])
    check_numbers(mw, name, "power", POWER_MW, "MW")

    off_grid = ((end - start) != qh_ms) | (start % qh_ms != 0)
    if off_grid.any():
        i = int(off_grid.nonzero()[0][0])
        a, b = (pd.Timestamp(int(x), unit="ms") for x in (start[i], end[i]))
        raise SourceFileError(name, "quarter-hour-grid", f"interval [{a}, {b}) is not a quarter-hour on the grid", i)
    _first_duplicate(name, "start", start)
    _check_horizon(name, start)
    return {
        "asset_id": asset_id,  # one asset per file: a single value stands for every row
        "version": timestamps(version),
        "delivery_start": timestamps(start),
        "delivery_end": timestamps(end),
        "mw": mw.astype("float64"),
    }


#: A forecast version covers 48 h ahead: the QHs starting at its first QH .. 48 h later, both ends included (193).
FORECAST_HORIZON_QH = 48 * 4 + 1


def _check_horizon(name: str, start_ms: np.ndarray) -> None:
    """Rule ``forecast-horizon``: a version holds every QH of its 48 h horizon, without a gap. A JSON document cut
    off is ``truncated-json``; this catches a complete document of an incomplete forecast (a writer that stored what
    it had so far), which would otherwise leave the later QHs to an older version unnoticed."""
    qh_ms = 15 * 60 * 1000
    first, last = int(start_ms.min()), int(start_ms.max())
    covered = (last - first) // qh_ms + 1
    if len(start_ms) < FORECAST_HORIZON_QH or covered != len(start_ms):
        gap = "" if covered == len(start_ms) else f" with gaps ({covered - len(start_ms)} QHs missing inside)"
        raise SourceFileError(
            name,
            "forecast-horizon",
            f"{len(start_ms)} quarter-hours from {pd.Timestamp(first, unit='ms')} to {pd.Timestamp(last, unit='ms')}{gap}: "
            f"a version covers 48 h ahead ({FORECAST_HORIZON_QH} quarter-hours); the forecast is incomplete",
        )


def parse_forecast(path: Path, name: str | None = None) -> pd.DataFrame:
    """:func:`forecast_columns` of the file at ``path``, as a frame."""
    path = Path(path)
    return pd.DataFrame(forecast_columns(path.read_bytes(), name or path.name))


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


def live_columns(data: bytes, name: str) -> dict[str, np.ndarray]:
    """One live-infeed file from its bytes: one element per sample, MW, negative night values kept as delivered.

    The asset comes from the key (``asset_id`` or ``entity_id``), never from the file name's short
    code (``WND01``); timestamps are read by magnitude (really ms).
    """
    doc = parse_json(data, name)
    key, values, units = columns_of(name, doc, ("timestamp", "value"))
    asset_id = live_asset_id(name, key)
    ms = epoch_ms(name, "timestamp", numeric_array(name, "timestamp", values["timestamp"]))
    mw = numeric_array(name, "value", values["value"]) * power_factor(name, units["value"])
    check_numbers(mw, name, "value", POWER_MW, "MW")
    quality = numeric_array(name, "quality", values["quality"]) if "quality" in values else np.full(len(ms), np.nan)
    _first_duplicate(name, "timestamp", ms)
    return {"asset_id": asset_id, "timestamp": timestamps(ms), "mw": mw.astype("float64"),
            "quality": quality.astype("float64")}


def parse_live(path: Path, name: str | None = None) -> pd.DataFrame:
    """:func:`live_columns` of the file at ``path``, as a frame."""
    path = Path(path)
    return pd.DataFrame(live_columns(path.read_bytes(), name or path.name)).loc[:, LIVE_COLUMNS]
