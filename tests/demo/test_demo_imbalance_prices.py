"""The demo's final imbalance prices have what the netting needs: short and long prices that differ on a
small share of quarter-hours (scarcity episodes), never with the short side paying less."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpower_dagster.defs.imbalance_prices.parser import parse_estimation, parse_final
from flexpower_dagster.demo import imbalance
from flexpower_dagster.demo.generate import DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START, demo_market
from flexpower_dagster.demo.timegrid import Window


@pytest.fixture(scope="module")
def default_month(tmp_path_factory):
    """The imbalance files of the default demo (``make run``'s month), parsed by the platform's parser."""
    out = tmp_path_factory.mktemp("imbalance")
    window = Window(DEFAULT_START, DEFAULT_DAYS)
    imbalance.write_files(out, demo_market(window, DEFAULT_SEED), window, DEFAULT_SEED)
    folder = out / imbalance.IMBALANCE_DIR
    finals = pd.concat([parse_final(p, p.name) for p in sorted(folder.glob("imbalance_price_final_*.csv"))])
    estimates = pd.concat([parse_estimation(p, p.name) for p in sorted(folder.glob("imbalance_price_estimation_*.csv"))])
    return window, finals, estimates


def test_short_and_long_prices_differ_on_a_small_share_of_the_month(default_month):
    window, finals, _ = default_month
    differ = finals["price_short_eur_per_mwh"] != finals["price_long_eur_per_mwh"]
    assert len(finals) > 1000  # 13 published days, some QHs missing
    assert 0.01 <= differ.mean() <= 0.05, f"{differ.sum()} of {len(finals)} final QHs differ"
    days = set(finals.loc[differ, "delivery_start"].dt.date)
    assert 3 <= len(days) < window.days - 1, sorted(days)  # a few days have scarcity, most do not


def test_the_short_side_never_pays_less_and_the_surcharge_is_plausible(default_month):
    _, finals, _ = default_month
    surcharge = finals["price_short_eur_per_mwh"] - finals["price_long_eur_per_mwh"]
    assert (surcharge >= 0).all()
    lo, hi = imbalance.SCARCITY_SURCHARGE_EUR_PER_MWH
    positive = surcharge[surcharge > 0]
    assert positive.between(lo - 0.01, hi + 0.01).all()
    # episodes last consecutive quarter-hours: fewer episode starts than asymmetric QHs
    flagged = finals.assign(up=surcharge > 0).set_index("delivery_start")["up"].sort_index()
    starts = flagged & ~flagged.shift(1, fill_value=False)
    assert 0 < starts.sum() < flagged.sum()


def test_episodes_belong_to_the_calendar_day_not_to_the_window():
    """A window starting on a scarcity day has that day's scarcity QHs where the default month has them (each
    calendar day draws its own episodes), although its reBAP itself differs."""
    month = Window(DEFAULT_START, DEFAULT_DAYS)
    gaps = {}
    for day in month.delivery_days[:-1]:
        _, short, long = imbalance.final_prices(demo_market(month, DEFAULT_SEED), day, DEFAULT_SEED)
        gaps[day] = short - long
    day = next(d for d, g in gaps.items() if g.any())
    _, short, long = imbalance.final_prices(demo_market(Window(day, 2), DEFAULT_SEED), day, DEFAULT_SEED)
    assert np.allclose(short - long, gaps[day], atol=0.011)
    assert not np.array_equal(imbalance.scarcity_surcharge(DEFAULT_SEED + 1, day), imbalance.scarcity_surcharge(DEFAULT_SEED, day))
