"""Data-quality suites of the exchange trades, declared as data (run by ``defs/quality``; see docs/quality.md).

Trades feed portfolio-wide numbers (revenue, VWAP, the market index) with no per-asset split, so a
wrong side, a non-positive volume or a price beyond the exchange's technical limits is BLOCKING, and so is
a day whose only export was rejected (the parser refuses out-of-bound values, half-written files...): its
trading marts must stop, not report zero trades. Prices outside the plausible band are a WARN.
"""

from flexpower_dagster.defs.exchange.tables import EXCHANGE_PRIVATE_TRADES, EXCHANGE_PUBLIC_TRADES
from flexpower_dagster.lib.quality.completeness import Rows
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    EXCHANGE_PRICE_LIMITS,
    PLAUSIBLE_PRICE,
    WARN,
    FailingRows,
    Suite,
    a_ge_b,
    between,
    in_set,
    row_count,
    structure,
    suite,
)

#: Trades delivering inside the day, as completeness rules count them (lib/quality/completeness.py)
_IN_DAY = "delivery_start < $day_end AND coalesce(delivery_end, delivery_start + INTERVAL 15 MINUTE) > $day_start"
STAGED_PRIVATE_TRADES = Rows(EXCHANGE_PRIVATE_TRADES, noun="trades", where=_IN_DAY)
STAGED_PUBLIC_TRADES = Rows(EXCHANGE_PUBLIC_TRADES, noun="trades", where=_IN_DAY)


_MINUTES = "epoch(delivery_end - delivery_start) / 60.0"


def _trades_suite(table, who: str) -> Suite:
    e = "trade_id"
    return suite(
        asset=("staging", table.name),
        table=table,
        entity=e,
        description=who,
        refused_files="block",
        expectations=(
            *structure(table, entity=e, not_null=("side", "price_eur_per_mwh", "volume_mw", "delivery_end")),
            in_set("side", ("BUY", "SELL"), check="values", severity=BLOCKING, entity=e),
            between("volume_mw", 0, None, strict_min=True, check="values", severity=BLOCKING, entity=e,
                    description="volume_mw > 0"),
            between("price_eur_per_mwh", *EXCHANGE_PRICE_LIMITS, check="values", severity=BLOCKING, entity=e,
                    id="price-within-exchange-limits",
                    description=f"price within the exchange limits {EXCHANGE_PRICE_LIMITS[0]:g}..{EXCHANGE_PRICE_LIMITS[1]:g} EUR/MWh"),
            in_set("product", ("hourly", "quarter_hourly"), check="values", severity=BLOCKING, entity=e),
            in_set("currency", ("EUR",), check="values", severity=BLOCKING, entity=e),
            between("price_eur_per_mwh", *PLAUSIBLE_PRICE, check="plausibility", severity=WARN, entity=e,
                    id="price-plausible",
                    description=f"price within the plausible band {PLAUSIBLE_PRICE[0]:g}..{PLAUSIBLE_PRICE[1]:g} EUR/MWh"),
            a_ge_b("delivery_end", "execution_time", check="plausibility", severity=WARN, entity=e, id="executed-before-end",
                   description="executed before the end of delivery"),
            row_count(1, None, check="freshness", severity=WARN, id="has-trades", description="trades exported for the day"),
        ),
        failing_rows=(
            FailingRows.where(table, "NOT coalesce(delivery_start = time_bucket(INTERVAL 15 MINUTE, delivery_start), false)",
                              "'delivery_start ' || coalesce(strftime(delivery_start, '%Y-%m-%d %H:%M:%S'), 'NULL') "
                              "|| ' is not on a quarter-hour boundary'", id="on-qh-grid", check="values", severity=BLOCKING,
                              entity=e, description="delivery_start on a quarter-hour boundary"),
            FailingRows.where(table, f"{_MINUTES} NOT IN (15, 60)", f"'product lasts ' || {_MINUTES} || ' minutes'",
                              id="duration", check="values", severity=BLOCKING, entity=e,
                              description="product lasts 15 or 60 minutes"),
        ),
    )


EXCHANGE_PRIVATE_TRADES_SUITE = _trades_suite(EXCHANGE_PRIVATE_TRADES, "FlexPower's own trades")
EXCHANGE_PUBLIC_TRADES_SUITE = _trades_suite(EXCHANGE_PUBLIC_TRADES, "All market participants' trades (market index)")
