"""CRM contract snapshots: weekly on Sunday 04:30-05:00 UTC, plus ad-hoc ones when a contract is
signed mid-week. Every snapshot lists all contracts signed so far (ended ones included)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flexpower_dagster.demo.portfolio import Asset
from flexpower_dagster.demo.timegrid import Window, epoch, rng_for, to_dt, write_text

CRM_DIR = "crm"
HEADER = "contract_id,asset_id,metering_point_id,capacity,technology,contract_begin,contract_end,price_model,price,fee_model,fee,fee_percent,email"


def snapshot_csv(assets: list[Asset], day: date) -> str:
    rows = [
        ",".join([
            a.contract_id, a.asset_id, a.metering_point_id, a.capacity, a.technology, a.contract_begin.isoformat(),
            a.contract_end.isoformat() if a.contract_end else "", a.price_model, a.price, a.fee_model, a.fee,
            a.fee_percent, a.email,
        ])
        for a in sorted(assets, key=lambda a: a.contract_id)
        if a.listed_from <= day
    ]
    return HEADER + "\n" + "\n".join(rows) + "\n"


def snapshot_times(assets: list[Asset], window: Window, seed: int) -> list[int]:
    """Epoch seconds of every snapshot: Sundays from the one before the window, and ad hoc on the
    (non-Sunday) days new contracts get listed."""
    first_sunday = window.start - timedelta(days=(window.start.weekday() + 1) % 7 + 7)
    times: list[int] = []
    day = first_sunday
    while day < window.end:
        rng = rng_for(seed, "crm", day.toordinal())
        times.append(epoch(day) + 4 * 3600 + 30 * 60 + int(rng.integers(0, 30 * 60)))
        day += timedelta(days=7)
    adhoc = sorted({a.listed_from for a in assets if first_sunday < a.listed_from < window.end and a.listed_from.weekday() != 6})
    for day in adhoc:
        rng = rng_for(seed, "crm-adhoc", day.toordinal())
        times.append(epoch(day) + int(rng.integers(6 * 3600, 9 * 3600)))
    return sorted(times)


def write_snapshots(root: Path, assets: list[Asset], window: Window, seed: int) -> int:
    times = snapshot_times(assets, window, seed)
    for t in times:
        at = to_dt(t)
        write_text(root / CRM_DIR / f"asset_contracts_{at:%Y%m%d_%H%M%S}.csv", snapshot_csv(assets, at.date()))
    return len(times)
