"""Data-quality suite of the position mart, declared as data (run by ``defs/quality``; see docs/quality.md).

Small on purpose: the declared structure and key, the portfolio's 96 QHs (every scope complete), the allowed
values, and the mart's one identity: ``open_position_mwh = latest_forecast_mwh - net_sold_mwh`` wherever both are
known and the forecast is complete, NULL otherwise (missing is never 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flexpower_dagster.defs.position.tables import PORTFOLIO_SCOPE, POSITION_QH
from flexpower_dagster.lib.quality.suites import BLOCKING, coverage_view, in_set, qh_complete, structure, suite
from flexpower_dagster.lib.quality.views import Refs

#: Floating-point slack of the identity (MWh): far below the kWh a desk reads.
TOLERANCE_MWH = 1e-6


def position_identity(frame: pd.DataFrame, refs: Refs) -> pd.DataFrame:
    """One row per position row: ``identity_ok`` = the open position is latest forecast - net sold where both are
    known and no asset of the scope lacks a forecast, and NULL otherwise."""
    f = frame.reset_index(drop=True)
    latest = pd.to_numeric(f["latest_forecast_mwh"], errors="coerce")
    sold = pd.to_numeric(f["net_sold_mwh"], errors="coerce")
    open_ = pd.to_numeric(f["open_position_mwh"], errors="coerce")
    complete = pd.to_numeric(f["n_assets_without_latest"], errors="coerce").eq(0)
    known = latest.notna() & sold.notna() & complete
    equal = ((open_ - (latest - sold)).abs() <= TOLERANCE_MWH).fillna(False)
    ok = np.where(known, equal, open_.isna())
    return pd.DataFrame({"scope": f["scope"], "delivery_start": f["delivery_start"], "identity_ok": ok.astype(bool)})


POSITION_QH_SUITE = suite(
    asset=("marts", "position_qh"),
    table=POSITION_QH,
    entity="scope",
    views={
        "qh_coverage": coverage_view("scope", expected=lambda refs: {PORTFOLIO_SCOPE}),
        "identity": position_identity,
    },
    expectations=(
        *structure(POSITION_QH, entity="scope"),
        qh_complete(check="completeness", severity=BLOCKING, entity="scope", id="qh-per-scope",
                    description="96 QHs for the portfolio and for every technology"),
        in_set("net_sold_basis", ("trades", "allocated"), check="values", severity=BLOCKING, entity="scope"),
        in_set("imbalance_price_source", ("final", "estimate", "none"), check="values", severity=BLOCKING, entity="scope"),
        in_set("expected_imbalance_direction", ("short", "long", "balanced"), check="values", severity=BLOCKING,
               entity="scope"),
        in_set("identity_ok", [True], view="identity", check="values", severity=BLOCKING, entity="scope",
               id="open-is-forecast-minus-net-sold",
               description="open_position_mwh = latest_forecast_mwh - net_sold_mwh where both are known and the "
                           "forecast is complete; NULL otherwise"),
    ),
)
