"""Data-quality suites of the trading marts, declared as data (run by ``defs/quality``; see docs/quality.md).

Completeness against the inputs (lib/quality/completeness.py): staged private trades of the day but no private
figures in the mart blocks (the day's revenue would be wrong); public trades without any private trades is a
WARN (``missing_inputs``): the private export is missing, the figures are NULL (no data), not wrong.
"""

from flexpower_dagster.defs.exchange.expectations import STAGED_PRIVATE_TRADES, STAGED_PUBLIC_TRADES
from flexpower_dagster.defs.trading.tables import TRADING_DAILY, TRADING_QH
from flexpower_dagster.lib.quality.completeness import Needs, Rows, inputs_present
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    PLAUSIBLE_PRICE,
    WARN,
    between,
    coverage_view,
    not_null,
    qh_complete,
    row_count,
    structure,
    suite,
)

_LO, _HI = PLAUSIBLE_PRICE


def _inputs(table) -> tuple:
    loaded = Rows(table, noun="rows with private trades loaded", where="private_trades_loaded",
                  none="no private trades loaded")
    return (
        inputs_present([Needs(loaded, when=STAGED_PRIVATE_TRADES)], check="completeness", severity=BLOCKING),
        inputs_present([Needs(STAGED_PRIVATE_TRADES, when=STAGED_PUBLIC_TRADES)], check="missing_inputs", severity=WARN,
                       id="private-export-present"),
    )


def _values(check: str) -> list:
    return [
        between("bought_mwh", 0, None, check=check, severity=BLOCKING, description="bought_mwh >= 0"),
        between("sold_mwh", 0, None, check=check, severity=BLOCKING, description="sold_mwh >= 0"),
        between("n_trades", 0, None, check=check, severity=BLOCKING, description="n_trades >= 0"),
    ]


def _plausible() -> list:
    return [
        between("vwap_eur_per_mwh", _LO, _HI, check="plausibility", severity=WARN,
                description=f"{_LO:g} <= private VWAP <= {_HI:g} EUR/MWh"),
        between("market_vwap_eur_per_mwh", _LO, _HI, check="plausibility", severity=WARN,
                description=f"{_LO:g} <= market VWAP <= {_HI:g} EUR/MWh"),
        not_null("market_vwap_eur_per_mwh", check="plausibility", severity=WARN, description="a market VWAP exists"),
    ]


TRADING_QH_SUITE = suite(
    asset=("marts", "trading_qh"),
    table=TRADING_QH,
    views={"qh_coverage": coverage_view(None)},
    expectations=(
        *structure(TRADING_QH),
        qh_complete(check="completeness", severity=BLOCKING, entity=None, id="qh-complete", description="96 QHs"),
        *_values("values"),
        *_plausible(),
    ),
    failing_rows=_inputs(TRADING_QH),
)

TRADING_DAILY_SUITE = suite(
    asset=("marts", "trading_daily"),
    table=TRADING_DAILY,
    expectations=(
        *structure(TRADING_DAILY),
        row_count(1, 1, check="completeness", severity=BLOCKING, description="exactly one row for the day"),
        *_values("values"),
        *_plausible(),
    ),
    failing_rows=_inputs(TRADING_DAILY),
)
