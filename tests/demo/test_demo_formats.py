"""Every generated file follows the source registry's name patterns and parses with the project's
parsers; layouts match the real sample files."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.definitions import landing_sources as all_sources
from flexpower_dagster.lib.landing.files import landing_days

from demo_case import DAYS, START

SAMPLE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "flexpower-2025-06-08"


def _files(root: Path) -> list[Path]:
    """The landing files (not the hidden settings file the demo writes for its data: settings.LANDING_SETTINGS_FILE)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_the_demo_sets_its_first_day_and_clock(demo_dir):
    from flexpower_dagster.settings import LANDING_SETTINGS_FILE, Settings

    assert (demo_dir / LANDING_SETTINGS_FILE).is_file()
    s = Settings.from_env({"FLEXPOWER_LANDING_DIR": str(demo_dir)})
    days = sorted({p.name for p in (demo_dir / "exchange").iterdir()})
    assert s.first_day is not None and s.now is not None
    assert s.first_day.strftime("%Y%m%d") in days[0]  # the first delivered (traded) day
    assert Settings.from_env({"FLEXPOWER_LANDING_DIR": str(demo_dir), "FLEXPOWER_FIRST_DAY": "2025-01-01"}).first_day.year == 2025


def _spec_for(root: Path, path: Path):
    rel = path.relative_to(root)
    folder = rel.parent.as_posix()
    matches = [s for s in all_sources() if s.folder == folder and s.matches(path.name)]
    return matches


def test_every_file_matches_exactly_one_source(demo_dir):
    unmatched, ambiguous = [], []
    for p in _files(demo_dir):
        m = _spec_for(demo_dir, p)
        if not m:
            unmatched.append(p.relative_to(demo_dir).as_posix())
        elif len(m) > 1:
            ambiguous.append(p.relative_to(demo_dir).as_posix())
    assert not unmatched, unmatched[:10]
    assert not ambiguous, ambiguous[:10]


def test_every_source_is_generated(demo_dir):
    seen = Counter(_spec_for(demo_dir, p)[0].name for p in _files(demo_dir))
    missing = [s.name for s in all_sources() if not seen[s.name]]
    assert not missing, f"no demo files for: {missing}"


def test_every_file_parses(demo_dir):
    """The project's parsers (found through the domains' LandingSource components) accept every file."""
    failures = []
    rows = Counter()
    for p in _files(demo_dir):
        spec = _spec_for(demo_dir, p)[0]
        name = p.relative_to(demo_dir).as_posix()
        if spec.name == "vpp_forecasts" and not p.name.endswith(("T000000Z.json", "T121500Z.json")):
            continue  # 96 per asset and day: a sample of versions is enough here
        try:
            df = spec.parse(p, name)
        except Exception as exc:
            failures.append(f"{name}: {exc}")
            continue
        rows[spec.name] += len(df)
        if len(df) == 0:
            failures.append(f"{name}: parsed to 0 rows")
    assert not failures, "\n".join(failures[:10])
    assert all(rows[s.name] > 0 for s in all_sources())


def test_landing_days_cover_the_window(demo_dir):
    days = landing_days(demo_dir, [s for s in all_sources() if s.defines_days])
    wanted = {START + timedelta(days=i) for i in range(DAYS)}
    assert wanted <= set(days)


def test_delivered_days_are_exactly_the_window(demo_dir):
    """`make run` builds the delivered days only: no forecast-only or two-hour-live edge days."""
    delivered = [s for s in all_sources() if s.delivered]
    assert sorted(landing_days(demo_dir, delivered)) == [START + timedelta(days=i) for i in range(DAYS)]


def test_default_contracts_equal_the_sample_snapshots(default_assets_dir):
    """The default portfolio reproduces the sample's CRM rows byte for byte (incl. WND-DE-003)."""
    for sample in sorted((SAMPLE_DIR / "crm").glob("asset_contracts_*.csv")):
        day = sample.name.split("_")[2]
        generated = list((default_assets_dir / "crm").glob(f"asset_contracts_{day}_*.csv"))
        assert len(generated) == 1, (day, generated)
        assert generated[0].read_text() == sample.read_text()
        hhmm = generated[0].stem.split("_")[-1]
        assert "043000" <= hhmm <= "050000"  # Sunday 04:30-05:00


def test_layouts_match_the_sample(default_assets_dir):
    gen, smp = default_assets_dir, SAMPLE_DIR

    def first_lines(path: Path, n: int) -> list[str]:
        return path.read_text(encoding="utf-8").splitlines()[:n]

    # trades: title line and header
    for kind in ("Private", "Public"):
        g = first_lines(next((gen / "exchange").glob(f"{kind}_Trades-20250608-*.csv")), 3)
        s = first_lines(next((smp / "exchange").glob(f"{kind}_Trades-20250608-*.csv")), 3)
        assert g[0].startswith(f"# {kind} Trades - 2025-06-08 - 2025-06-09T00:0") and g[0].endswith(".000Z;;;;;;;;")
        assert g[1] == s[1]
        assert len(g[2].split(";")) == len(s[2].split(";")) and g[2].endswith(";EUR;" + g[2].split(";")[7] + ";MWH")
    # imbalance headers and decimal commas
    g = first_lines(next((gen / "imbalance").glob("imbalance_price_estimation_*.csv")), 2)
    s = first_lines(next((smp / "imbalance").glob("imbalance_price_estimation_*.csv")), 2)
    assert g[0] == s[0] and g[1].split(";")[1:7] == s[1].split(";")[1:7] and "," in g[1].split(";")[7]
    g = first_lines(next((gen / "imbalance").glob("imbalance_price_final_20250608_*.csv")), 2)
    s = first_lines(next((smp / "imbalance").glob("imbalance_price_final_*.csv")), 2)
    assert g[0] == s[0] and g[1].split(";")[:7] == s[1].split(";")[:7]
    # DSO
    g = first_lines(gen / "distribution_system_operator" / "final_production_MP-WND-002_20250609.csv", 2)
    s = first_lines(smp / "distribution_system_operator" / "final_production_MP-WND-002_20250609.csv", 2)
    assert g[0] == s[0] and g[1].split(",")[0] == s[1].split(",")[0]
    g = first_lines(next((gen / "distribution_system_operator").glob("redispatch_compensation_*.csv")), 2)
    s = first_lines(next((smp / "distribution_system_operator").glob("redispatch_compensation_*.csv")), 2)
    assert g[0] == s[0]
    # forecasts: same JSON layout, seconds declared as ms, 193 values starting at the version
    g = (gen / "vpp/forecasts/forecast_WND-DE-001_2025-06-08T121500Z.json").read_text()
    s = (smp / "vpp/forecasts/forecast_WND-DE-001_2025-06-08T121500Z.json").read_text()
    assert g.split('"values": ')[0] == s.split('"values": ')[0]
    gv, sv = json.loads(g)["values"], json.loads(s)["values"]
    assert [v[:2] for v in gv[:3]] == [v[:2] for v in sv[:3]] and [len(v) for v in gv] == [len(v) for v in sv]
    # live: indented JSON, the key differs by asset, the file covers the German local day
    for prefix, key in (("SOL", "entity_id"), ("WND", "asset_id")):
        found = sorted((gen / "vpp/live_measured_infeed").glob(f"{prefix}*_20250608.json"))
        if not found:
            pytest.fail(f"no {prefix} live file for 2025-06-08 generated")
        g = found[0]
        obj = json.loads(g.read_text())
        assert key in obj["key"] and g.read_text() == json.dumps(obj, indent=2) + "\n"
        ts = pd.to_datetime(pd.Series(obj["values"][0]), unit="ms")
        assert ts.min() >= pd.Timestamp("2025-06-07 22:00") and ts.max() < pd.Timestamp("2025-06-08 22:00")
    # technical data: same structure as the sample
    g = json.loads(sorted((gen / "vpp/technical_data").glob("technical_data_*.json"))[-1].read_text())
    s = json.loads((smp / "vpp/technical_data/technical_data_2025-06-02T125000Z.json").read_text())
    assert g == s


def test_every_demo_file_has_arrived(demo_dir):
    """Every generated file carries the demo's arrival time (after its last day), never the time it was written:
    a file younger than the settle time is read as still being written (a make run right after generating the
    demo used to stage the first day without those forecast versions)."""
    import time

    young = [p.name for p in _files(demo_dir) if p.stat().st_mtime > time.time() - 3600]
    assert young == []
