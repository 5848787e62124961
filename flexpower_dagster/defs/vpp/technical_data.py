"""Parser of the VPP technical-data snapshots (pure, no Dagster).

``vpp/technical_data/technical_data_YYYY-MM-DDTHHMMSSZ.json``: a full snapshot
``{"assets": [{asset_id, name, type, location{...}, technical_attributes{capacity_kw, ...}, status, owner{name}}]}``,
one row per asset (capacity in MW, ``type`` -> ``technology``). Rules as in :mod:`.parser`
(``file-name``, ``structure``, ``no-values``, ``missing-asset-id``, ``duplicate-asset-id``, ``date``,
``non-numeric``, plus the JSON reading rules of :mod:`flexpower_dagster.lib.jsonparse`).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.bounds import POWER_MW, Bounds, check_numbers
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.identifiers import require_identifiers
from flexpower_dagster.lib.jsonparse import load_json, numeric

_LIMITS = {
    "latitude": Bounds(-90.0, 90.0, "a latitude"),
    "longitude": Bounds(-180.0, 180.0, "a longitude"),
    "capacity_mw": Bounds(0.0, POWER_MW.hi, POWER_MW.why),
}
_UNITS = {"latitude": "degrees", "longitude": "degrees", "capacity_mw": "MW"}

TECHNICAL_DATA_PATTERN = re.compile(r"technical_data_(\d{4}-\d{2}-\d{2}T\d{6})Z\.json")


def technical_data_time(basename: str) -> datetime:
    m = TECHNICAL_DATA_PATTERN.fullmatch(basename)
    if not m:
        raise ValueError(f"{basename} is not named technical_data_YYYY-MM-DDTHHMMSSZ.json")
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H%M%S")


TECHNICAL_DATA_COLUMNS = [
    "asset_id", "asset_name", "technology", "latitude", "longitude", "timezone", "capacity_mw", "status",
    "owner_name", "commissioning_date", "snapshot_taken_at",
]

#: flattened JSON field -> staging column
_TECHNICAL_FIELDS = {
    "asset_id": "asset_id",
    "name": "asset_name",
    "type": "technology",
    "location.latitude": "latitude",
    "location.longitude": "longitude",
    "location.timezone": "timezone",
    "technical_attributes.capacity_kw": "capacity_mw",
    "status": "status",
    "owner.name": "owner_name",
    "technical_attributes.commissioning_date": "commissioning_date",
}


def parse_technical_data(path: Path, name: str | None = None) -> pd.DataFrame:
    """One technical-data snapshot: one row per asset (capacity in MW, ``type`` -> ``technology``)."""
    path = Path(path)
    name = name or path.name
    try:
        taken = technical_data_time(path.name)
    except ValueError as exc:
        raise SourceFileError(name, "file-name", str(exc)) from exc
    doc = load_json(path, name)
    if not isinstance(doc, dict) or not isinstance(doc.get("assets"), list):
        raise SourceFileError(name, "structure", "expected an object with an 'assets' list")
    assets = doc["assets"]
    if not assets:
        raise SourceFileError(name, "no-values", "the snapshot lists no asset")
    kinds = pd.Series(assets, dtype="object").map(type)
    not_obj = ~kinds.eq(dict)
    if not_obj.any():
        i = int(not_obj.to_numpy().nonzero()[0][0])
        raise SourceFileError(name, "structure", f"assets[{i}] is a {kinds.iloc[i].__name__}, not an object", i)
    flat = pd.json_normalize(assets)
    flat = flat.reindex(columns=sorted(set(flat.columns) | set(_TECHNICAL_FIELDS)))

    asset_id = flat["asset_id"].astype("object").where(flat["asset_id"].notna(), None)
    asset_text = asset_id.astype("string").str.strip()
    missing = asset_text.isna() | asset_text.eq("")
    if missing.any():
        i = int(missing.to_numpy().nonzero()[0][0])
        raise SourceFileError(name, "missing-asset-id", f"assets[{i}] has no asset_id", i)
    dup = asset_text.duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise SourceFileError(name, "duplicate-asset-id", f"asset_id {asset_text.iloc[i]!r} listed twice", i)

    require_identifiers(asset_text, None, name, "asset_id")
    out = pd.DataFrame({"asset_id": asset_text.astype("object")})
    for field, column in _TECHNICAL_FIELDS.items():
        if column == "asset_id":
            continue
        col = flat[field]
        if column in ("latitude", "longitude", "capacity_mw"):
            num = numeric(name, field, col.tolist())
            num = num / 1000.0 if column == "capacity_mw" else num
            check_numbers(num, name, field, _LIMITS[column], _UNITS[column])
            out[column] = num
        elif column == "commissioning_date":
            present = col.notna() & col.astype("string").str.strip().ne("")
            dates = pd.to_datetime(col.where(present), format="%Y-%m-%d", errors="coerce")
            bad = present & dates.isna()
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise SourceFileError(name, "date", f"assets[{i}].{field} {col.iloc[i]!r} is not YYYY-MM-DD", i)
            out[column] = dates.astype("datetime64[ns]")
        else:
            text = col.astype("object").where(col.notna(), None)
            out[column] = text.str.lower() if column == "technology" else text
    out["snapshot_taken_at"] = pd.Series(pd.Timestamp(taken), index=out.index).astype("datetime64[ns]")
    return out.loc[:, TECHNICAL_DATA_COLUMNS]
