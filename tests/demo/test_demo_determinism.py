"""Same seed -> same bytes; another seed -> other numbers."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flexpower_dagster.demo import generate

from demo_case import ASSETS, DAYS, SEED, START


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(demo_dir, tmp_path):
    again = tmp_path / "again"
    generate(again, n_assets=ASSETS, start=START, days=DAYS, seed=SEED, public_trades_per_day=3000)
    first, second = _digest(demo_dir), _digest(again)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, differing[:5]


def test_other_seed_other_numbers(demo_dir, tmp_path):
    other = tmp_path / "other"
    generate(other, n_assets=ASSETS, start=START, days=1, seed=SEED + 1, public_trades_per_day=500)
    a = (demo_dir / "exchange").glob("Private_Trades-20250607-*.csv")
    b = (other / "exchange").glob("Private_Trades-20250607-*.csv")
    assert next(a).read_bytes() != next(b).read_bytes()


def test_more_assets_do_not_change_the_first_ones(tmp_path):
    """Each asset draws from its own random stream: the sample assets' files are stable when N grows."""
    small, large = tmp_path / "small", tmp_path / "large"
    generate(small, n_assets=5, start=START, days=1, seed=SEED, public_trades_per_day=500)
    generate(large, n_assets=6, start=START, days=1, seed=SEED, public_trades_per_day=500)
    for sub in ("vpp/live_measured_infeed", "distribution_system_operator"):
        for p in (small / sub).glob("*_MP-WND-002_*.csv") if "distribution" in sub else (small / sub).glob("WND02_*.json"):
            assert p.read_bytes() == (large / sub / p.name).read_bytes(), p.name
