"""Landing-zone sources of the imbalance prices (pure: no Dagster).

Both files span a period that their name does not state reliably (an estimation file of 2025-06-07
holds 2025-06-03..09), so ``days_covered`` reads the content (cached by stat; on unreadable content the
guess is the name's day, plus the next day for estimations). Row key delivery_start: for each QH the
newest file (publication time in the name) wins, so a later final file fills the gaps of an earlier one.
"""

from __future__ import annotations

from flexpower_dagster.defs.imbalance_prices import parser
from flexpower_dagster.defs.imbalance_prices.tables import IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL
from flexpower_dagster.lib.landing.source import SourceSpec, days_from_content

FOLDER = "imbalance"

ESTIMATES = SourceSpec(
    name=IMBALANCE_PRICE_ESTIMATES.name,
    system="imbalance_prices",
    folder=FOLDER,
    pattern=parser.ESTIMATION_NAME,
    table=IMBALANCE_PRICE_ESTIMATES,
    parse=parser.parse_estimation,
    kind="events",
    file_time=parser.estimation_time,
    time_column="delivery_start",
    days_covered=days_from_content(parser.parse_estimation, parser.guess_estimation_days),
    row_key=("delivery_start",),
    description=IMBALANCE_PRICE_ESTIMATES.description,
)

FINAL = SourceSpec(
    name=IMBALANCE_PRICE_FINAL.name,
    system="imbalance_prices",
    folder=FOLDER,
    pattern=parser.FINAL_NAME,
    table=IMBALANCE_PRICE_FINAL,
    parse=parser.parse_final,
    kind="events",
    file_time=parser.final_time,
    time_column="delivery_start",
    days_covered=days_from_content(parser.parse_final, parser.guess_final_days),
    row_key=("delivery_start",),
    description=IMBALANCE_PRICE_FINAL.description,
)
