"""The floor: what one delivery day costs when one DuckDB process does nothing but the necessary work.

    python scripts/benchmark/floor.py --landing DIR --day 2025-06-08 [--days N] --db floor.duckdb [--json out.json]

Written from ``../shared/domain.md`` alone (no project code is imported: python + duckdb, the project's
pinned version), with explicit types for every file read and every table:

1. *the day's file lists*, by file name, as any stager must: forecast versions T with
   ``D - 48 h <= T < D + 1 day`` (a version covers 48 h ahead), live files of the German local days D and
   D+1 (22:00Z..22:00Z), DSO finals and redispatch flags dated D or D+1, the newest private and public
   trade export of D, the imbalance estimates dated D-3..D+3 and the finals dated D, the newest CRM snapshot
   taken before D+1;
2. *staging*: ``read_json`` / ``read_csv`` over each list with the needed columns unnested and typed, cut
   to the UTC day and stored in tables (forecast timestamps in seconds although declared ``ms``: the unit
   is taken from the magnitude; power in kW -> MW; asset ids from the JSON key, ``asset_id`` or
   ``entity_id``; trades' ``MWH`` label ignored, volumes are MW);
3. *marts*: ``asset_forecast`` (every portfolio asset x 96 QHs; latest = newest version <= delivery_start,
   tradeable = newest version <= delivery_start - 15 min, rows of one version from the newest file),
   live infeed per QH (mean of the samples, count), trading per QH (hourly trades = four QH slices;
   revenue, trades, net/bought/sold MWh, VWAP, market VWAP from the public trades) and best-of-infeed
   (final -> live -> 0 when redispatched -> latest forecast -> missing, finals and flags joined on the
   metering point of the contract in force).

Not in the floor (the project's own work, which the ratio to the floor is meant to expose): validation of
every rule with rejection per file, lineage tables, data-quality checks, orchestration, the other marts.
Several days (``--days``) run one after the other in the same process and connection: the floor of a
backfill is the sum of its days, without a second process start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

QH = timedelta(minutes=15)

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS staged;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE IF NOT EXISTS staged.forecasts (
    delivery_day DATE NOT NULL, asset_id VARCHAR NOT NULL, version TIMESTAMP NOT NULL,
    delivery_start TIMESTAMP NOT NULL, mw DOUBLE, source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staged.live_samples (
    delivery_day DATE NOT NULL, asset_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, mw DOUBLE, quality DOUBLE,
    source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staged.contracts (
    delivery_day DATE NOT NULL, contract_id VARCHAR, asset_id VARCHAR, metering_point_id VARCHAR, capacity_mw DOUBLE,
    technology VARCHAR, contract_begin DATE, contract_end DATE, price_model VARCHAR, price DOUBLE, fee_model VARCHAR,
    fee DOUBLE, fee_percent DOUBLE, email VARCHAR, source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staged.final_production (
    delivery_day DATE NOT NULL, metering_point_id VARCHAR NOT NULL, delivery_start TIMESTAMP NOT NULL, mw DOUBLE,
    source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staged.redispatch_flags (
    delivery_day DATE NOT NULL, metering_point_id VARCHAR NOT NULL, delivery_start TIMESTAMP NOT NULL,
    delivery_end TIMESTAMP, is_redispatched BOOLEAN, source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staged.trades (
    delivery_day DATE NOT NULL, market VARCHAR NOT NULL, trade_id VARCHAR, side VARCHAR, delivery_start TIMESTAMP,
    delivery_end TIMESTAMP, execution_time TIMESTAMP, price DOUBLE, volume_mw DOUBLE, source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staged.imbalance_prices (
    delivery_day DATE NOT NULL, kind VARCHAR NOT NULL, delivery_start TIMESTAMP NOT NULL, price_short DOUBLE,
    price_long DOUBLE, source_file VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS marts.asset_forecast (
    delivery_day DATE NOT NULL, asset_id VARCHAR NOT NULL, delivery_start TIMESTAMP NOT NULL,
    latest_mw DOUBLE, latest_version TIMESTAMP, tradeable_mw DOUBLE, tradeable_version TIMESTAMP, n_versions BIGINT);
CREATE TABLE IF NOT EXISTS marts.live_infeed (
    delivery_day DATE NOT NULL, asset_id VARCHAR NOT NULL, delivery_start TIMESTAMP NOT NULL, mw DOUBLE,
    n_samples BIGINT);
CREATE TABLE IF NOT EXISTS marts.trading_qh (
    delivery_day DATE NOT NULL, delivery_start TIMESTAMP NOT NULL, revenue_eur DOUBLE, n_trades BIGINT,
    net_volume_mwh DOUBLE, bought_mwh DOUBLE, sold_mwh DOUBLE, vwap_eur_per_mwh DOUBLE, market_vwap_eur_per_mwh DOUBLE);
CREATE TABLE IF NOT EXISTS marts.best_of_infeed (
    delivery_day DATE NOT NULL, asset_id VARCHAR NOT NULL, delivery_start TIMESTAMP NOT NULL, mw DOUBLE, mwh DOUBLE,
    source VARCHAR NOT NULL);
"""

TABLES = (
    "staged.forecasts", "staged.live_samples", "staged.contracts", "staged.final_production", "staged.redispatch_flags",
    "staged.trades", "staged.imbalance_prices", "marts.asset_forecast", "marts.live_infeed", "marts.trading_qh",
    "marts.best_of_infeed",
)

#: epoch number -> milliseconds, the unit taken from the magnitude (2025 is ~1.7e9 s, ~1.7e12 ms, ~1.7e15 us)
_MS = "CAST(round({v} * CASE WHEN abs({v}) < 1e11 THEN 1000.0 WHEN abs({v}) < 1e14 THEN 1.0 WHEN abs({v}) < 1e17 THEN 1e-3 ELSE 1e-6 END) AS BIGINT)"
#: power unit -> factor to MW
_TO_MW = "CASE lower({u}) WHEN 'kw' THEN 1e-3 WHEN 'mw' THEN 1.0 WHEN 'w' THEN 1e-6 END"


def epoch_ms(v: str) -> str:
    return _MS.format(v=v)


FORECASTS_SQL = f"""
INSERT INTO staged.forecasts
WITH files AS (
    SELECT filename AS source_file, key.asset_id AS asset_id,
           "values"[list_position(column_ids, 'start')] AS starts,
           "values"[list_position(column_ids, 'version')] AS versions,
           "values"[list_position(column_ids, 'power')] AS power,
           {_TO_MW.format(u="units[list_position(column_ids, 'power')]")} AS to_mw
    FROM read_json($files, format = 'newline_delimited', filename = true,
                   columns = {{key: 'STRUCT(asset_id VARCHAR)', column_ids: 'VARCHAR[]', units: 'VARCHAR[]',
                              "values": 'DOUBLE[][]'}})
),
rows AS (
    SELECT source_file, asset_id, to_mw, unnest(starts) AS s, unnest(versions) AS v, unnest(power) AS p FROM files
)
SELECT CAST($day AS DATE), asset_id, epoch_ms({epoch_ms('v')}), epoch_ms({epoch_ms('s')}), p * to_mw, source_file
FROM rows
WHERE epoch_ms({epoch_ms('s')}) >= $day_start AND epoch_ms({epoch_ms('s')}) < $day_end
"""

LIVE_SQL = f"""
INSERT INTO staged.live_samples
WITH files AS (
    SELECT filename AS source_file, coalesce(key.asset_id, key.entity_id) AS asset_id,
           "values"[list_position(column_ids, 'timestamp')] AS ts,
           "values"[list_position(column_ids, 'value')] AS val,
           "values"[list_position(column_ids, 'quality')] AS q,
           {_TO_MW.format(u="units[list_position(column_ids, 'value')]")} AS to_mw
    FROM read_json($files, format = 'unstructured', filename = true,
                   columns = {{key: 'STRUCT(asset_id VARCHAR, entity_id VARCHAR)', column_ids: 'VARCHAR[]',
                              units: 'VARCHAR[]', "values": 'DOUBLE[][]'}})
),
rows AS (SELECT source_file, asset_id, to_mw, unnest(ts) AS t, unnest(val) AS v, unnest(q) AS q FROM files)
SELECT CAST($day AS DATE), asset_id, epoch_ms({epoch_ms('t')}), v * to_mw, q, source_file
FROM rows
WHERE epoch_ms({epoch_ms('t')}) >= $day_start AND epoch_ms({epoch_ms('t')}) < $day_end
"""

CONTRACTS_SQL = """
INSERT INTO staged.contracts
SELECT CAST($day AS DATE), contract_id, asset_id, metering_point_id, capacity, technology, contract_begin, contract_end,
       price_model, price, fee_model, fee, fee_percent, email, filename
FROM read_csv($files, header = true, delim = ',', quote = '"', filename = true, auto_detect = false,
              columns = {'contract_id': 'VARCHAR', 'asset_id': 'VARCHAR', 'metering_point_id': 'VARCHAR',
                         'capacity': 'DOUBLE', 'technology': 'VARCHAR', 'contract_begin': 'DATE', 'contract_end': 'DATE',
                         'price_model': 'VARCHAR', 'price': 'DOUBLE', 'fee_model': 'VARCHAR', 'fee': 'DOUBLE',
                         'fee_percent': 'DOUBLE', 'email': 'VARCHAR'})
"""

FINAL_SQL = """
INSERT INTO staged.final_production
WITH rows AS (
    SELECT regexp_extract(filename, 'final_production_(.+)_[0-9]{8}\\.csv$', 1) AS metering_point_id,
           strptime(delivery_start, '%Y-%m-%d %H:%M:%S.%f UTC') AS delivery_start, kw / 1000.0 AS mw, filename
    FROM read_csv($files, header = true, delim = ',', filename = true, auto_detect = false,
                  columns = {'delivery_start': 'VARCHAR', 'kw': 'DOUBLE'})
)
SELECT CAST($day AS DATE), metering_point_id, delivery_start, mw, filename
FROM rows WHERE delivery_start >= $day_start AND delivery_start < $day_end
"""

FLAGS_SQL = """
INSERT INTO staged.redispatch_flags
WITH rows AS (
    SELECT regexp_extract(filename, 'redispatch_flag_(.+)_[0-9]{8}_[0-9]{4}\\.csv$', 1) AS metering_point_id,
           strptime(delivery_start, '%Y-%m-%dT%H:%M:%SZ') AS delivery_start,
           strptime(delivery_end, '%Y-%m-%dT%H:%M:%SZ') AS delivery_end, is_redispatched = 1 AS is_redispatched, filename
    FROM read_csv($files, header = true, delim = ',', filename = true, auto_detect = false,
                  columns = {'delivery_start': 'VARCHAR', 'delivery_end': 'VARCHAR', 'is_redispatched': 'INTEGER'})
)
SELECT CAST($day AS DATE), metering_point_id, delivery_start, delivery_end, is_redispatched, filename
FROM rows WHERE delivery_start >= $day_start AND delivery_start < $day_end
"""

TRADES_SQL = """
INSERT INTO staged.trades
SELECT CAST($day AS DATE), $market, trade_id, upper(trim(side)),
       CAST(left(delivery_start, 19) AS TIMESTAMP), CAST(left(delivery_end, 19) AS TIMESTAMP),
       CAST(replace(execution_time, '+00:00', '') AS TIMESTAMP), price, volume, filename
FROM read_csv($files, skip = 1, header = true, delim = ';', filename = true, auto_detect = false,
              columns = {'trade_id': 'VARCHAR', 'side': 'VARCHAR', 'delivery_start': 'VARCHAR', 'delivery_end': 'VARCHAR',
                         'execution_time': 'VARCHAR', 'price': 'DOUBLE', 'currency': 'VARCHAR', 'volume': 'DOUBLE',
                         'volume_unit': 'VARCHAR'})
"""

_IMBALANCE_START = "strptime(datum || ' ' || von, '%d.%m.%Y %H:%M')"
_DECIMAL_COMMA = "CAST(replace({c}, ',', '.') AS DOUBLE)"
_IMBALANCE_COLUMNS = "'datum': 'VARCHAR', 'zeitzone': 'VARCHAR', 'von': 'VARCHAR', 'bis': 'VARCHAR', 'kategorie': 'VARCHAR', 'datentyp': 'VARCHAR', 'einheit': 'VARCHAR'"

IMBALANCE_ESTIMATES_SQL = f"""
INSERT INTO staged.imbalance_prices
WITH rows AS (
    SELECT {_IMBALANCE_START} AS delivery_start, {_DECIMAL_COMMA.format(c='price')} AS price, filename
    FROM read_csv($files, header = true, delim = ';', filename = true, auto_detect = false,
                  columns = {{{_IMBALANCE_COLUMNS}, 'price': 'VARCHAR', 'status': 'VARCHAR'}})
)
SELECT CAST($day AS DATE), 'estimate', delivery_start, price, price, filename
FROM rows WHERE delivery_start >= $day_start AND delivery_start < $day_end
"""

IMBALANCE_FINALS_SQL = f"""
INSERT INTO staged.imbalance_prices
WITH rows AS (
    SELECT {_IMBALANCE_START} AS delivery_start, {_DECIMAL_COMMA.format(c='short')} AS short,
           {_DECIMAL_COMMA.format(c='long')} AS long, filename
    FROM read_csv($files, header = true, delim = ';', filename = true, auto_detect = false,
                  columns = {{{_IMBALANCE_COLUMNS}, 'short': 'VARCHAR', 'long': 'VARCHAR'}})
)
SELECT CAST($day AS DATE), 'final', delivery_start, short, long, filename
FROM rows WHERE delivery_start >= $day_start AND delivery_start < $day_end
"""

_GRID = """
qh AS (SELECT g.delivery_start FROM range($day_start, $day_end, INTERVAL 15 MINUTE) AS g(delivery_start)),
portfolio AS (
    SELECT asset_id, min(metering_point_id) AS metering_point_id
    FROM staged.contracts
    WHERE delivery_day = CAST($day AS DATE) AND asset_id IS NOT NULL
      AND contract_begin <= CAST($day AS DATE) AND (contract_end IS NULL OR CAST($day AS DATE) < contract_end)
    GROUP BY asset_id
),
grid AS (SELECT p.asset_id, p.metering_point_id, q.delivery_start FROM portfolio p CROSS JOIN qh q)"""

ASSET_FORECAST_SQL = f"""
INSERT INTO marts.asset_forecast
WITH {_GRID},
picked AS (
    SELECT asset_id, delivery_start,
           arg_max(mw, (version, source_file)) FILTER (WHERE version <= delivery_start) AS latest_mw,
           max(version) FILTER (WHERE version <= delivery_start) AS latest_version,
           arg_max(mw, (version, source_file)) FILTER (WHERE version <= delivery_start - INTERVAL 15 MINUTE) AS tradeable_mw,
           max(version) FILTER (WHERE version <= delivery_start - INTERVAL 15 MINUTE) AS tradeable_version,
           count(DISTINCT version) AS n_versions
    FROM staged.forecasts
    WHERE delivery_day = CAST($day AS DATE)
    GROUP BY asset_id, delivery_start
)
SELECT CAST($day AS DATE), g.asset_id, g.delivery_start, p.latest_mw, p.latest_version, p.tradeable_mw,
       p.tradeable_version, coalesce(p.n_versions, 0)
FROM grid g LEFT JOIN picked p USING (asset_id, delivery_start)
"""

LIVE_INFEED_SQL = """
INSERT INTO marts.live_infeed
SELECT CAST($day AS DATE), asset_id, time_bucket(INTERVAL 15 MINUTE, ts), avg(mw), count(*)
FROM staged.live_samples
WHERE delivery_day = CAST($day AS DATE) AND mw IS NOT NULL
GROUP BY ALL
"""

TRADING_QH_SQL = """
INSERT INTO marts.trading_qh
WITH qh AS (SELECT g.delivery_start FROM range($day_start, $day_end, INTERVAL 15 MINUTE) AS g(delivery_start)),
slices AS (
    SELECT market, trade_id, side, CASE side WHEN 'SELL' THEN 1 WHEN 'BUY' THEN -1 END AS sign,
           volume_mw * 0.25 AS mwh, price,
           unnest(generate_series(delivery_start, delivery_end - INTERVAL 15 MINUTE, INTERVAL 15 MINUTE)) AS delivery_start
    FROM staged.trades WHERE delivery_day = CAST($day AS DATE)
),
private AS (
    SELECT delivery_start, sum(sign * mwh * price) AS revenue_eur, count(DISTINCT trade_id) AS n_trades,
           sum(sign * mwh) AS net_volume_mwh, coalesce(sum(mwh) FILTER (WHERE side = 'BUY'), 0) AS bought_mwh,
           coalesce(sum(mwh) FILTER (WHERE side = 'SELL'), 0) AS sold_mwh, sum(mwh * price) / nullif(sum(mwh), 0) AS vwap
    FROM slices WHERE market = 'private' GROUP BY delivery_start
),
public AS (
    SELECT delivery_start, sum(mwh * price) / nullif(sum(mwh), 0) AS vwap FROM slices WHERE market = 'public'
    GROUP BY delivery_start
)
SELECT CAST($day AS DATE), q.delivery_start, coalesce(p.revenue_eur, 0), coalesce(p.n_trades, 0),
       coalesce(p.net_volume_mwh, 0), coalesce(p.bought_mwh, 0), coalesce(p.sold_mwh, 0), p.vwap, m.vwap
FROM qh q LEFT JOIN private p USING (delivery_start) LEFT JOIN public m USING (delivery_start)
WHERE q.delivery_start >= $day_start AND q.delivery_start < $day_end
"""

BEST_OF_INFEED_SQL = f"""
INSERT INTO marts.best_of_infeed
WITH {_GRID},
fin AS (
    SELECT metering_point_id, delivery_start, arg_max(mw, source_file) AS mw FROM staged.final_production
    WHERE delivery_day = CAST($day AS DATE) AND mw IS NOT NULL GROUP BY ALL
),
flags AS (
    SELECT metering_point_id, delivery_start, bool_or(is_redispatched) AS redispatched FROM staged.redispatch_flags
    WHERE delivery_day = CAST($day AS DATE) GROUP BY ALL
),
chosen AS (
    SELECT g.asset_id, g.delivery_start,
           CASE WHEN fin.mw IS NOT NULL THEN 'final' WHEN live.mw IS NOT NULL THEN 'live'
                WHEN coalesce(flags.redispatched, false) THEN 'forecast_redispatched'
                WHEN fc.latest_mw IS NOT NULL THEN 'forecast' ELSE 'missing' END AS source,
           fin.mw AS final_mw, live.mw AS live_mw, fc.latest_mw AS forecast_mw
    FROM grid g
    LEFT JOIN fin ON fin.metering_point_id = g.metering_point_id AND fin.delivery_start = g.delivery_start
    LEFT JOIN marts.live_infeed live
           ON live.delivery_day = CAST($day AS DATE) AND live.asset_id = g.asset_id AND live.delivery_start = g.delivery_start
    LEFT JOIN marts.asset_forecast fc
           ON fc.delivery_day = CAST($day AS DATE) AND fc.asset_id = g.asset_id AND fc.delivery_start = g.delivery_start
    LEFT JOIN flags ON flags.metering_point_id = g.metering_point_id AND flags.delivery_start = g.delivery_start
)
SELECT CAST($day AS DATE), asset_id, delivery_start, m, m * 0.25, source
FROM (SELECT *, CASE source WHEN 'final' THEN final_mw WHEN 'live' THEN live_mw WHEN 'forecast' THEN forecast_mw
                            WHEN 'forecast_redispatched' THEN 0.0 END AS m FROM chosen)
"""

#: (step name, statement, file list key or None for a mart); in this order
STEPS = (
    ("contracts", CONTRACTS_SQL, "contracts"),
    ("forecasts", FORECASTS_SQL, "forecasts"),
    ("live_samples", LIVE_SQL, "live"),
    ("final_production", FINAL_SQL, "finals"),
    ("redispatch_flags", FLAGS_SQL, "flags"),
    ("private_trades", TRADES_SQL, "private_trades"),
    ("public_trades", TRADES_SQL, "public_trades"),
    ("imbalance_estimates", IMBALANCE_ESTIMATES_SQL, "imbalance_estimates"),
    ("imbalance_finals", IMBALANCE_FINALS_SQL, "imbalance_finals"),
    ("asset_forecast", ASSET_FORECAST_SQL, None),
    ("live_infeed", LIVE_INFEED_SQL, None),
    ("trading_qh", TRADING_QH_SQL, None),
    ("best_of_infeed", BEST_OF_INFEED_SQL, None),
)


# --------------------------------------------------------------------------------------------------
# the day's file lists (by name)

_FORECAST = re.compile(r"forecast_.+_(\d{4}-\d{2}-\d{2}T\d{6})Z\.json")
_LIVE = re.compile(r"[A-Za-z0-9-]+_(\d{8})\.json")
_FINAL = re.compile(r"final_production_.+_(\d{8})\.csv")
_FLAG = re.compile(r"redispatch_flag_.+_(\d{8})_\d{4}\.csv")
_TRADES = re.compile(r"(Private|Public)_Trades-(\d{8})-.+\.csv")
_ESTIMATE = re.compile(r"imbalance_price_estimation_(\d{4}-\d{2}-\d{2})T\d{6}Z\.csv")
_IMB_FINAL = re.compile(r"imbalance_price_final_(\d{8})_\d{6}\.csv")
_CRM = re.compile(r"asset_contracts_(\d{8}_\d{6})\.csv")


def _names(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as it:
            return sorted(e.name for e in it if e.is_file())
    except FileNotFoundError:
        return []


@dataclass
class DayFiles:
    day: date
    lists: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_files(self) -> int:
        return len({f for files in self.lists.values() for f in files})


def day_files(landing: Path, day: date) -> DayFiles:
    """The files that feed delivery day ``day``, selected by the dates in their names."""
    start = datetime(day.year, day.month, day.day)
    ymd = {(day + timedelta(days=i)).strftime("%Y%m%d") for i in (0, 1)}
    out = DayFiles(day)

    def pick(folder: str, pattern: re.Pattern, keep) -> list[str]:
        base = landing / folder
        return [str(base / n) for n in _names(base) if (m := pattern.fullmatch(n)) and keep(m)]

    out.lists["forecasts"] = pick(
        "vpp/forecasts", _FORECAST,
        lambda m: start - timedelta(hours=48) <= datetime.strptime(m.group(1), "%Y-%m-%dT%H%M%S") < start + timedelta(days=1),
    )
    out.lists["live"] = pick("vpp/live_measured_infeed", _LIVE, lambda m: m.group(1) in ymd)
    out.lists["finals"] = pick("distribution_system_operator", _FINAL, lambda m: m.group(1) in ymd)
    out.lists["flags"] = pick("distribution_system_operator", _FLAG, lambda m: m.group(1) in ymd)
    for market in ("Private", "Public"):
        exports = pick("exchange", _TRADES, lambda m, market=market: m.group(1) == market and m.group(2) == day.strftime("%Y%m%d"))
        out.lists[f"{market.lower()}_trades"] = exports[-1:]  # the newest export of the day wins as a whole
    near = {(day + timedelta(days=i)).isoformat() for i in range(-3, 4)}
    out.lists["imbalance_estimates"] = pick("imbalance", _ESTIMATE, lambda m: m.group(1) in near)
    out.lists["imbalance_finals"] = pick("imbalance", _IMB_FINAL, lambda m: m.group(1) == day.strftime("%Y%m%d"))
    snapshots = pick("crm", _CRM, lambda m: datetime.strptime(m.group(1), "%Y%m%d_%H%M%S") < start + timedelta(days=1))
    out.lists["contracts"] = snapshots[-1:]  # the newest snapshot taken before the day ends
    return out


# --------------------------------------------------------------------------------------------------
# running


def run_day(con: duckdb.DuckDBPyConnection, landing: Path, day: date) -> dict:
    """Stage ``day`` and compute its marts in ``con``; returns files, seconds per step and rows per table."""
    t0 = time.perf_counter()
    files = day_files(landing, day)
    start = datetime(day.year, day.month, day.day)
    params = {"day": day, "day_start": start, "day_end": start + timedelta(days=1)}
    seconds = {"list_files": time.perf_counter() - t0}
    for table in TABLES:
        con.execute(f"DELETE FROM {table} WHERE delivery_day = ?", [day])
    for name, sql, key in STEPS:
        t = time.perf_counter()
        if key is None or files.lists[key]:
            given = {**params, "market": name.split("_")[0], "files": files.lists.get(key)}
            con.execute(sql, {k: v for k, v in given.items() if f"${k}" in sql})
        seconds[name] = time.perf_counter() - t
    rows = {t: con.execute(f"SELECT count(*) FROM {t} WHERE delivery_day = ?", [day]).fetchone()[0] for t in TABLES}
    return {"day": day.isoformat(), "files": files.n_files, "seconds": seconds, "rows": rows}


def run_floor(db: Path, landing: Path, days: list[date]) -> dict:
    """The floor of ``days`` in one connection on the database file ``db``."""
    t0 = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        # rows are stored as a set (no order to keep): lets DuckDB insert from every thread
        con.execute("SET preserve_insertion_order = false")
        con.execute(SCHEMA)
        out = [run_day(con, landing, d) for d in days]
        con.execute("CHECKPOINT")
    return {"duckdb": duckdb.__version__, "days": out, "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------------------
# checking the project against the floor

#: The columns of ``marts.asset_forecast`` the floor must reproduce (domain.md quantity 2): versions exactly,
#: MW values to within :data:`TOLERANCE_MW` (the last bit of a double may depend on ``x * 1e-3`` vs ``x / 1000``).
COMPARED = ("latest_mw", "latest_version", "tradeable_mw", "tradeable_version")
TOLERANCE_MW = 1e-9


def compare_asset_forecast(floor_db: Path, warehouse: Path, days: list[date]) -> dict:
    """Rows of ``marts.asset_forecast`` of ``days`` that differ between the floor and the project's
    warehouse (opened read-only): missing on either side, a version different or a MW value more than
    :data:`TOLERANCE_MW` apart (NULL equals NULL). Returns the counts and up to five examples."""
    with duckdb.connect(":memory:") as con:
        con.execute(f"ATTACH '{floor_db}' AS fl (READ_ONLY)")
        con.execute(f"ATTACH '{warehouse}' AS pr (READ_ONLY)")
        day_list = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
        differs = " OR ".join(
            f"(f.{c} IS NULL) <> (p.{c} IS NULL) OR abs(f.{c} - p.{c}) > {TOLERANCE_MW}" if c.endswith("_mw")
            else f"f.{c} IS DISTINCT FROM p.{c}"
            for c in COMPARED
        )
        sql = f"""
            WITH f AS (SELECT * FROM fl.marts.asset_forecast WHERE delivery_day IN ({day_list})),
                 p AS (SELECT * FROM pr.marts.asset_forecast WHERE delivery_day IN ({day_list}))
            SELECT coalesce(f.delivery_day, p.delivery_day) AS delivery_day, coalesce(f.asset_id, p.asset_id) AS asset_id,
                   coalesce(f.delivery_start, p.delivery_start) AS delivery_start,
                   CASE WHEN p.asset_id IS NULL THEN 'only in floor' WHEN f.asset_id IS NULL THEN 'only in project'
                        ELSE 'values differ' END AS kind,
                   {', '.join(f'f.{c} AS floor_{c}, p.{c} AS project_{c}' for c in COMPARED)}
            FROM f FULL OUTER JOIN p USING (delivery_day, asset_id, delivery_start)
            WHERE f.asset_id IS NULL OR p.asset_id IS NULL OR {differs}
        """
        diff = con.execute(sql).fetchdf()
        n_floor = con.execute(f"SELECT count(*) FROM fl.marts.asset_forecast WHERE delivery_day IN ({day_list})").fetchone()[0]
        n_project = con.execute(f"SELECT count(*) FROM pr.marts.asset_forecast WHERE delivery_day IN ({day_list})").fetchone()[0]
    return {
        "floor_rows": int(n_floor),
        "project_rows": int(n_project),
        "differences": len(diff),
        "by_kind": {k: int(v) for k, v in diff["kind"].value_counts().items()},
        "examples": json.loads(diff.head(5).to_json(orient="records", date_format="iso")),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--day", type=date.fromisoformat, required=True, help="first delivery day")
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--db", type=Path, required=True, help="DuckDB file to write (replaced)")
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args(argv)
    for p in (args.db, Path(f"{args.db}.wal")):
        p.unlink(missing_ok=True)
    result = run_floor(args.db, args.landing, [args.day + timedelta(days=i) for i in range(args.days)])
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
