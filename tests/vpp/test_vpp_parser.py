"""VPP parsers on the real sample files, and every named rule for bad input."""

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.defs.vpp.parser import parse_forecast, parse_live
from flexpower_dagster.defs.vpp.sources import VPP_TECHNICAL_DATA_SOURCE
from flexpower_dagster.defs.vpp.technical_data import parse_technical_data
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.load import load_day

FORECAST = "vpp/forecasts/forecast_WND-DE-003_2025-06-08T120000Z.json"
LIVE_ENTITY = "vpp/live_measured_infeed/SOL02_20250608.json"
LIVE_ASSET = "vpp/live_measured_infeed/WND01_20250608.json"


def _doc(sample_dir: Path, rel: str) -> dict:
    return json.loads((sample_dir / rel).read_text())


def _dump(tmp_path: Path, name: str, content) -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    elif isinstance(content, str):
        p.write_text(content)
    else:
        p.write_text(json.dumps(content))
    return p


def _err(fn, path: Path) -> SourceFileError:
    with pytest.raises(SourceFileError) as info:
        fn(path, path.name)
    return info.value


# ---------------------------------------------------------------- technical data


def test_technical_data_snapshot(sample_dir):
    df = parse_technical_data(sample_dir / "vpp/technical_data/technical_data_2025-06-02T125000Z.json")
    assert len(df) == 5
    row = df.set_index("asset_id").loc["WND-DE-003"]
    assert row["capacity_mw"] == pytest.approx(5.6)  # capacity_kw 5600 -> MW
    assert row["technology"] == "wind"  # field `type`
    assert row["owner_name"] == "WindEnergy Nord GmbH"
    assert row["latitude"] == pytest.approx(54.7805) and row["timezone"] == "Europe/Berlin"
    assert row["commissioning_date"] == pd.Timestamp("2024-03-15")
    assert row["snapshot_taken_at"] == pd.Timestamp("2025-06-02 12:50:00")
    # integer (1088) and float (1088.0) capacities in different snapshots give the same MW
    old = parse_technical_data(sample_dir / "vpp/technical_data/technical_data_2025-06-01T125000Z.json")
    assert old.set_index("asset_id")["capacity_mw"].equals(df.set_index("asset_id")["capacity_mw"])


def test_technical_data_snapshot_superseding(sample_dir):
    load = load_day(VPP_TECHNICAL_DATA_SOURCE, sample_dir, date(2025, 6, 8))
    assert set(load.frame["source_file"]) == {"vpp/technical_data/technical_data_2025-06-02T125000Z.json"}
    # 2025-05-31: only the 2025-05-30 snapshot (4 assets, no SOL-DE-002 yet)
    load = load_day(VPP_TECHNICAL_DATA_SOURCE, sample_dir, date(2025, 5, 31))
    assert set(load.frame["source_file"]) == {"vpp/technical_data/technical_data_2025-05-30T124600Z.json"}
    assert len(load.frame) == 4


def test_technical_data_rules(tmp_path, sample_dir):
    doc = _doc(sample_dir, "vpp/technical_data/technical_data_2025-06-02T125000Z.json")
    name = "technical_data_2025-06-02T125000Z.json"
    bad = json.loads(json.dumps(doc))
    bad["assets"][2]["technical_attributes"]["capacity_kw"] = "four MW"
    err = _err(parse_technical_data, _dump(tmp_path, name, bad))
    assert err.rule == "non-numeric" and err.row == 2
    dup = json.loads(json.dumps(doc))
    dup["assets"].append(dup["assets"][0])
    assert _err(parse_technical_data, _dump(tmp_path, name, dup)).rule == "duplicate-asset-id"
    assert _err(parse_technical_data, _dump(tmp_path, name, {"items": []})).rule == "structure"
    assert _err(parse_technical_data, _dump(tmp_path, name, {"assets": []})).rule == "no-values"
    noid = json.loads(json.dumps(doc))
    del noid["assets"][1]["asset_id"]
    err = _err(parse_technical_data, _dump(tmp_path, name, noid))
    assert err.rule == "missing-asset-id" and err.row == 1


# ---------------------------------------------------------------- forecasts


def test_forecast_seconds_declared_as_ms(sample_dir):
    doc = _doc(sample_dir, FORECAST)
    assert doc["units"][:3] == ["ms", "ms", "ms"] and doc["values"][0][0] < 1e10  # the quirk is real
    df = parse_forecast(sample_dir / FORECAST, FORECAST)
    assert len(df) == 193  # version T covers [T, T+48h+15min)
    assert df["version"].unique().tolist() == [pd.Timestamp("2025-06-08 12:00")]
    assert df["delivery_start"].iloc[0] == pd.Timestamp("2025-06-08 12:00")
    assert df["delivery_start"].iloc[-1] == pd.Timestamp("2025-06-10 12:00")
    assert (df["delivery_end"] - df["delivery_start"]).eq(pd.Timedelta(minutes=15)).all()
    assert df["mw"].iloc[3] == pytest.approx(doc["values"][3][3] / 1000)  # kW -> MW
    assert set(df["asset_id"]) == {"WND-DE-003"}


def test_forecast_in_real_ms_gives_the_same_instants(tmp_path, sample_dir):
    doc = _doc(sample_dir, FORECAST)
    for i in range(3):
        doc["values"][i] = [v * 1000 for v in doc["values"][i]]
    a = parse_forecast(_dump(tmp_path, "forecast_WND-DE-003_2025-06-08T120000Z.json", doc))
    b = parse_forecast(sample_dir / FORECAST)
    pd.testing.assert_frame_equal(a, b)


def test_forecast_asset_id_comes_from_the_key_not_the_file_name(tmp_path, sample_dir):
    p = _dump(tmp_path, "forecast_SOL-DE-001_2025-06-08T120000Z.json", _doc(sample_dir, FORECAST))
    assert set(parse_forecast(p)["asset_id"]) == {"WND-DE-003"}


def test_forecast_mixed_units_rejected(tmp_path, sample_dir):
    doc = _doc(sample_dir, FORECAST)
    doc["values"][0][5] = doc["values"][0][5] * 1000  # one start in ms among seconds
    err = _err(parse_forecast, _dump(tmp_path, "forecast_WND-DE-003_2025-06-08T120000Z.json", doc))
    assert err.rule == "timestamp-unit-by-magnitude" and err.row == 5


def test_forecast_truncated_json(tmp_path, sample_dir):
    data = (sample_dir / FORECAST).read_bytes()
    err = _err(parse_forecast, _dump(tmp_path, "forecast_WND-DE-003_2025-06-08T120000Z.json", data[: len(data) // 2]))
    assert err.rule == "truncated-json"
    assert "forecast_WND-DE-003_2025-06-08T120000Z.json" in str(err)


@pytest.mark.parametrize(
    "mutate, rule, row",
    [
        (lambda d: d["values"][3].__setitem__(7, "n/a"), "non-numeric", 7),
        (lambda d: d["values"][3].pop(), "unequal-lengths", 192),
        (lambda d: d["units"].pop(), "units-shape", None),
        (lambda d: d.pop("values"), "structure", None),
        (lambda d: d.__setitem__("values", {"start": []}), "structure", None),
        (lambda d: d["column_ids"].__setitem__(3, "energy"), "missing-columns", None),
        (lambda d: d["units"].__setitem__(3, "kWh/h"), "unknown-unit", None),
        (lambda d: d["key"].pop("asset_id"), "missing-asset-id", None),
        (lambda d: d["values"][0].__setitem__(4, None), "missing-timestamp", 4),
        (lambda d: d["values"][0].__setitem__(4, d["values"][0][4] + 60), "quarter-hour-grid", 4),
        (lambda d: d.__setitem__("values", [[], [], [], []]), "no-values", None),
        (lambda d: d.__setitem__("values", [v[:100] for v in d["values"]]), "forecast-horizon", None),  # 25 h of 48
        (lambda d: d.__setitem__("values", [v[:50] + v[51:] for v in d["values"]]), "forecast-horizon", None),  # a gap
    ],
)
def test_forecast_rules(tmp_path, sample_dir, mutate, rule, row):
    doc = _doc(sample_dir, FORECAST)
    mutate(doc)
    err = _err(parse_forecast, _dump(tmp_path, "forecast_WND-DE-003_2025-06-08T120000Z.json", doc))
    assert err.rule == rule
    if row is not None:
        assert err.row == row


def test_invalid_json_and_wrong_encoding(tmp_path, sample_dir):
    p = _dump(tmp_path, "forecast_WND-DE-003_2025-06-08T120000Z.json", '{"key": {"asset_id": "X"},, }')
    assert _err(parse_forecast, p).rule == "invalid-json"
    text = (sample_dir / LIVE_ASSET).read_text()
    p = _dump(tmp_path, "WND01_20250608.json", text.encode("utf-16"))
    assert _err(parse_live, p).rule == "encoding"
    assert _err(parse_live, _dump(tmp_path, "WND01_20250608.json", b"")).rule == "empty-file"
    assert _err(parse_live, _dump(tmp_path, "WND01_20250608.json", "[1, 2]")).rule == "structure"


# ---------------------------------------------------------------- live samples


def test_live_key_entity_id_and_asset_id(sample_dir):
    assert "entity_id" in _doc(sample_dir, LIVE_ENTITY)["key"]
    assert "asset_id" in _doc(sample_dir, LIVE_ASSET)["key"]
    sol = parse_live(sample_dir / LIVE_ENTITY)
    wnd = parse_live(sample_dir / LIVE_ASSET)
    assert set(sol["asset_id"]) == {"SOL-DE-002"}
    # the file name says WND01; the key's real asset id wins
    assert set(wnd["asset_id"]) == {"WND-DE-001"}


def test_live_ms_timestamps_kw_to_mw_and_night_negatives_kept(sample_dir):
    doc = _doc(sample_dir, LIVE_ENTITY)
    df = parse_live(sample_dir / LIVE_ENTITY)
    assert len(df) == len(doc["values"][0]) == 1437
    # German local day 2025-06-08 = 2025-06-07 22:00Z .. 2025-06-08 22:00Z
    assert df["timestamp"].min() == pd.Timestamp("2025-06-07 22:00")
    assert df["timestamp"].max() == pd.Timestamp("2025-06-08 21:59")
    assert df["mw"].iloc[0] == pytest.approx(doc["values"][1][0] / 1000)
    assert (df["mw"] < 0).any() and df["mw"].min() > -0.01  # small negatives at night are kept
    assert set(df["quality"]) == {1.0}


def test_live_timestamps_in_seconds_detected_too(tmp_path, sample_dir):
    doc = _doc(sample_dir, LIVE_ASSET)
    doc["values"][0] = [v / 1000 for v in doc["values"][0]]
    a = parse_live(_dump(tmp_path, "WND01_20250608.json", doc))
    pd.testing.assert_frame_equal(a, parse_live(sample_dir / LIVE_ASSET))


def test_live_key_rules(tmp_path, sample_dir):
    doc = _doc(sample_dir, LIVE_ASSET)
    doc["key"] = {"type_id": "power-measurement-live"}
    assert _err(parse_live, _dump(tmp_path, "WND01_20250608.json", doc)).rule == "live-key-asset-or-entity-id"
    doc["key"] = {"asset_id": "WND-DE-001", "entity_id": "WND-DE-002"}
    assert _err(parse_live, _dump(tmp_path, "WND01_20250608.json", doc)).rule == "live-key-asset-or-entity-id"
    doc["key"] = {"asset_id": "WND-DE-001", "entity_id": "WND-DE-001"}
    assert set(parse_live(_dump(tmp_path, "WND01_20250608.json", doc))["asset_id"]) == {"WND-DE-001"}


def test_live_rules(tmp_path, sample_dir):
    doc = _doc(sample_dir, LIVE_ASSET)
    doc["values"][1][10] = "broken"
    err = _err(parse_live, _dump(tmp_path, "WND01_20250608.json", doc))
    assert err.rule == "non-numeric" and err.row == 10
    doc = _doc(sample_dir, LIVE_ASSET)
    doc["values"][0][11] = doc["values"][0][10]
    err = _err(parse_live, _dump(tmp_path, "WND01_20250608.json", doc))
    assert err.rule == "duplicate-timestamp" and err.row == 11
    data = (sample_dir / LIVE_ASSET).read_text()
    assert _err(parse_live, _dump(tmp_path, "WND01_20250608.json", data[:-40])).rule == "truncated-json"
