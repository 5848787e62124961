"""Landing-zone sources of the exchange (pure: no Dagster).

Both trade exports carry their delivery day in the name (reliable: the parser rejects a file whose
title or trades disagree with it), so ``days_covered`` comes from the name. Superseding is per whole
file: the exports of one delivery day form a ``supersede_group`` and only the newest readable export
(by the export time in the name) is used, so a trade missing from the newest export is gone.
"""

from __future__ import annotations

from datetime import date

from flexpower_dagster.defs.exchange import parser
from flexpower_dagster.defs.exchange.tables import EXCHANGE_PRIVATE_TRADES, EXCHANGE_PUBLIC_TRADES
from flexpower_dagster.lib.landing.source import LandingFile, SourceSpec

FOLDER = "exchange"


def delivery_day_from_name(f: LandingFile) -> frozenset[date]:
    """The delivery day in the file name (empty when the name's date is invalid)."""
    d = parser.delivery_day_of(f.basename)
    return frozenset({d}) if d else frozenset()


def same_delivery_day(f: LandingFile):
    """Supersede group: all exports of one delivery day."""
    return parser.delivery_day_of(f.basename)


def _spec(table, pattern, who: str) -> SourceSpec:
    return SourceSpec(
        name=table.name,
        system="exchange",
        folder=FOLDER,
        pattern=pattern,
        table=table,
        parse=parser.parse_trades,
        kind="events",
        file_time=parser.export_time,
        time_column="delivery_start",
        days_covered=delivery_day_from_name,
        row_key=("trade_id",),
        supersede_group=same_delivery_day,
        defines_days=True,
        delivered=True,
        description=f"{who} of the delivery day from the newest export of that day (older exports are superseded as a whole). Volume in MW.",
    )


PRIVATE_TRADES = _spec(EXCHANGE_PRIVATE_TRADES, parser.PRIVATE_TRADES_NAME, "FlexPower's own EPEX intraday trades")
PUBLIC_TRADES = _spec(EXCHANGE_PUBLIC_TRADES, parser.PUBLIC_TRADES_NAME, "All market participants' EPEX intraday trades")
