"""Arrival deadlines per source, as data, and the late-data evaluation (pure: DuckDB SQL, no Dagster).

Every source system delivers on a schedule (``../shared/domain.md``, "Landing zone"). :data:`DEADLINES` says,
per staging table, by when the rows of a delivery day D must be in the warehouse (the time is UTC, relative
to D 00:00Z) and whether they are expected per asset (every asset of a contract in force on D) or once for the
portfolio. :func:`late_sources` compares that with what is stored: a source/day/asset whose deadline has
passed without rows is *late*; when the rows arrive it is no longer late, and the alert it raised resolves.

Which days are evaluated: the delivery days the warehouse holds any staging rows for (the days the platform
has been materialising), within :data:`LOOKBACK_DAYS` of the newest one. Days after the newest one are not
evaluated one by one: when nothing at all has arrived for longer than :data:`SILENCE_DAYS`, one
``nothing_since`` finding says so (a stopped transfer, not one alert per source and day).

Redispatch flags have no deadline: the DSO sends them only when an asset was switched off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import duckdb

from flexpower_dagster.lib.warehouse import table_exists

#: Days before the newest day with data that are still checked for late files.
LOOKBACK_DAYS = 62
#: No staging rows for any day after the newest one for this long (after that day's end): one alert.
SILENCE_DAYS = 2


@dataclass(frozen=True)
class Deadline:
    """By when a source's rows for delivery day D are due.

    ``due_at(D) = D + days calendar days (or working_days Mon–Fri) at ``at`` UTC``."""

    table: str  # staging table, e.g. "dso_final_production"
    system: str  # source system: crm, vpp, dso, exchange, imbalance
    per: Literal["asset", "portfolio"]
    at: time
    days: int = 0
    working_days: int = 0
    reason: str = ""
    severity: Literal["warning", "error"] = "warning"

    def due_at(self, day: date) -> datetime:
        d = day + timedelta(days=self.days)
        left = self.working_days
        while left > 0:
            d += timedelta(days=1)
            if d.weekday() < 5:
                left -= 1
        return datetime.combine(d, self.at)

    @property
    def rule(self) -> str:
        """The deadline in words, e.g. ``D+1 working day 18:00 UTC``."""
        if self.working_days:
            offset = f"D+{self.working_days} working day{'s' if self.working_days > 1 else ''}"
        else:
            offset = f"D+{self.days}" if self.days else "D"
        return f"{offset} {self.at:%H:%M} UTC"


DEADLINES: tuple[Deadline, ...] = (
    Deadline("vpp_forecasts", "vpp", "asset", time(0, 0), reason=(
        "a forecast version every 15 min, 48 h ahead: every asset in force needs one before its delivery day "
        "starts, or the desk trades it blind")),
    Deadline("vpp_live_samples", "vpp", "asset", time(2, 0), days=1, reason=(
        "live samples arrive continuously; two hours after the day's end every asset in force has sent some "
        "(best-of-infeed falls back to the forecast without them)")),
    Deadline("vpp_technical_data", "vpp", "portfolio", time(14, 0), reason=(
        "daily snapshot 12:30–13:00 UTC; an hour of slack")),
    Deadline("crm_contracts", "crm", "portfolio", time(6, 0), days=1, reason=(
        "weekly snapshot Sunday 04:30–05:00 plus ad-hoc ones: without any snapshot before the day's end there "
        "are no contracts in force"), severity="error"),
    Deadline("dso_final_production", "dso", "asset", time(18, 0), working_days=1, reason=(
        "the DSO sends each metering point's final production daily for the previous day; a working day of "
        "slack. Without it the invoice uses live or forecast values (provisional)")),
    Deadline("dso_redispatch_compensation", "dso", "portfolio", time(0, 0), days=21, reason=(
        "published periodically (the sample's price file for 2025-06-08 is dated 2025-06-20); three weeks")),
    Deadline("exchange_private_trades", "exchange", "portfolio", time(2, 0), days=1, reason=(
        "EPEX exports the day's own trades after the end of trading (the sample at 00:05 UTC the next day)"),
        severity="error"),
    Deadline("exchange_public_trades", "exchange", "portfolio", time(2, 0), days=1, reason=(
        "EPEX exports the market's trades after the end of trading: market VWAP and capture prices need them")),
    Deadline("imbalance_price_estimates", "imbalance", "portfolio", time(6, 0), days=1, reason=(
        "estimated reBAP published daily for several days: imbalance cost needs a price the morning after")),
    Deadline("imbalance_price_final", "imbalance", "portfolio", time(0, 0), days=2, reason=(
        "final reBAP published daily (may have gaps): without it imbalance cost stays an estimate")),
)


@dataclass(frozen=True)
class Late:
    """A source whose rows for ``delivery_day`` (and ``entity``: an asset id, or ``portfolio``) are overdue."""

    deadline: Deadline
    delivery_day: date
    entity: str
    due_at: datetime
    #: how many entities the source owed for the day (assets in force; 1 for a portfolio source): when all of
    #: them are late the cause is the source's delivery of the day, not one asset (:mod:`.alerts`)
    expected: int = 1


def evaluated_days(conn: duckdb.DuckDBPyConnection) -> list[date]:
    """The delivery days with any staging rows, within LOOKBACK_DAYS of the newest one (ascending)."""
    parts = [f"SELECT DISTINCT delivery_day FROM staging.{d.table}" for d in DEADLINES if table_exists(conn, f"staging.{d.table}")]
    if not parts:
        return []
    rows = conn.execute(" UNION ".join(parts) + " ORDER BY 1").fetchall()
    days = [r[0] for r in rows if r[0] is not None]
    if not days:
        return []
    first = days[-1] - timedelta(days=LOOKBACK_DAYS)
    return [d for d in days if d >= first]


def _present(conn: duckdb.DuckDBPyConnection, deadline: Deadline, days: list[date]) -> set[tuple[date, str]]:
    if not table_exists(conn, f"staging.{deadline.table}"):
        return set()
    entity = "asset_id" if deadline.per == "asset" else "'portfolio'"
    rows = conn.execute(
        f"SELECT DISTINCT delivery_day, {entity} FROM staging.{deadline.table} "
        "WHERE delivery_day BETWEEN ? AND ? AND " + ("asset_id IS NOT NULL" if deadline.per == "asset" else "true"),
        [days[0], days[-1]],
    ).fetchall()
    return {(d, str(e)) for d, e in rows}


def _expected_assets(conn: duckdb.DuckDBPyConnection, days: list[date]) -> dict[date, list[str]]:
    if not table_exists(conn, "marts.contracts_in_force"):
        return {}
    rows = conn.execute(
        "SELECT DISTINCT delivery_day, asset_id FROM marts.contracts_in_force "
        "WHERE delivery_day BETWEEN ? AND ? AND asset_id IS NOT NULL ORDER BY 1, 2",
        [days[0], days[-1]],
    ).fetchall()
    out: dict[date, list[str]] = {}
    for d, a in rows:
        out.setdefault(d, []).append(str(a))
    return out


def late_sources(conn: duckdb.DuckDBPyConnection, now: datetime, days: list[date] | None = None) -> list[Late]:
    """Every (source, day, entity) whose deadline is before ``now`` (naive UTC) without stored rows, over
    ``days`` (default: :func:`evaluated_days`)."""
    days = evaluated_days(conn) if days is None else days
    if not days:
        return []
    assets = _expected_assets(conn, days)
    late: list[Late] = []
    for deadline in DEADLINES:
        present = _present(conn, deadline, days)
        for day in days:
            due = deadline.due_at(day)
            if due > now:
                continue
            entities = assets.get(day, []) if deadline.per == "asset" else ["portfolio"]
            late += [Late(deadline, day, e, due, len(entities)) for e in entities if (day, e) not in present]
    return late


def silent_since(conn: duckdb.DuckDBPyConnection, now: datetime, days: list[date] | None = None) -> date | None:
    """The newest day with data when nothing has arrived for any later day for more than SILENCE_DAYS
    (``days``: default :func:`evaluated_days`)."""
    days = evaluated_days(conn) if days is None else days
    if not days:
        return None
    newest = days[-1]
    return newest if now > datetime.combine(newest + timedelta(days=1 + SILENCE_DAYS), time()) else None
