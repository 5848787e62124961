"""Data-quality suites of the trading marts, declared as data (run by ``defs/quality``; see docs/quality.md)."""

from flexpower_dagster.defs.trading.tables import TRADING_DAILY, TRADING_QH
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    PLAUSIBLE_PRICE,
    WARN,
    Suite,
    between,
    coverage_view,
    not_null,
    qh_complete,
    row_count,
    structure,
)

_LO, _HI = PLAUSIBLE_PRICE


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


TRADING_QH_SUITE = Suite(
    asset=("marts", "trading_qh"),
    table=TRADING_QH,
    views={"qh_coverage": coverage_view(None)},
    expectations=(
        *structure(TRADING_QH),
        qh_complete(check="completeness", severity=BLOCKING, entity=None, id="qh-complete", description="96 QHs"),
        *_values("values"),
        *_plausible(),
    ),
)

TRADING_DAILY_SUITE = Suite(
    asset=("marts", "trading_daily"),
    table=TRADING_DAILY,
    expectations=(
        *structure(TRADING_DAILY),
        row_count(1, 1, check="completeness", severity=BLOCKING, description="exactly one row for the day"),
        *_values("values"),
        *_plausible(),
    ),
)
