"""The demo portfolio: the five sample assets and their contracts, plus synthetic ones for N > 5.

Pure data, no I/O. Strings that end up in files (capacity, prices, fees) are kept exactly as the
sample CRM snapshot writes them, so the default demo reproduces the sample's rows byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from flexpower_dagster.demo.timegrid import rng_for


@dataclass(frozen=True)
class Asset:
    """One asset with its technical data (VPP) and its contract (CRM)."""

    index: int
    asset_id: str
    short_code: str  # live-file name code, e.g. WND01
    name: str
    technology: str  # solar | wind
    latitude: float
    longitude: float
    capacity_mw: float
    owner: str
    commissioning_date: str
    tech_attributes: tuple[tuple[str, object], ...]  # technical_attributes besides capacity_kw
    # contract (CRM columns, as written)
    contract_id: str
    metering_point_id: str
    capacity: str
    contract_begin: date
    contract_end: date | None
    price_model: str
    price: str
    fee_model: str
    fee: str
    fee_percent: str
    email: str
    listed_from: date  # first day the contract appears in CRM snapshots (signed)

    def in_force(self, day: date) -> bool:
        return self.contract_begin <= day and (self.contract_end is None or day < self.contract_end)

    @property
    def live_key(self) -> str:
        """The live JSON key name: the VPP writes ``entity_id`` for solar, ``asset_id`` for wind."""
        return "entity_id" if self.technology == "solar" else "asset_id"


def _sample(
    index, asset_id, name, technology, lat, lon, cap_mw, owner, commissioning, attrs, cap_str, begin, end,
    price_model, price, fee_model, fee, fee_percent, email, listed_from=None,
) -> Asset:
    prefix, _, num = asset_id.split("-")
    return Asset(
        index=index, asset_id=asset_id, short_code=f"{prefix}{int(num):02d}", name=name, technology=technology,
        latitude=lat, longitude=lon, capacity_mw=cap_mw, owner=owner, commissioning_date=commissioning,
        tech_attributes=attrs, contract_id=f"CON1_{asset_id}", metering_point_id=f"MP-{prefix}-{num}",
        capacity=cap_str, contract_begin=begin, contract_end=end, price_model=price_model, price=price,
        fee_model=fee_model, fee=fee, fee_percent=fee_percent, email=email,
        listed_from=listed_from or date(2000, 1, 1),
    )


#: The five assets of the sample landing zone (ids, capacities, locations, contract terms as in the
#: CRM snapshot of 2025-06-08, including the inconsistent WND-DE-003 row).
SAMPLE_ASSETS: tuple[Asset, ...] = (
    _sample(0, "SOL-DE-001", "Brandenburg Solar Park", "solar", 52.4125, 13.0544, 1.088, "FlexPower GmbH", "2024-03-15",
            (("panel_type", "monocrystalline"), ("tracking_type", "fixed")), "1.088", date(2024, 3, 1), None,
            "fixed", "85.0", "fixed_as_produced", "2.5", "", "maria.schmidt@energypartners.de"),
    _sample(1, "SOL-DE-002", "Bavaria Solar Field", "solar", 48.7904, 11.4979, 1.49, "FlexPower GmbH", "2023-11-02",
            (("panel_type", "polycrystalline"), ("tracking_type", "single_axis")), "1.490", date(2025, 6, 1),
            date(2028, 11, 1), "market", "", "percent_of_market", "", "5.0",
            "stefan.fischer@solartech-innovations.com", listed_from=date(2025, 6, 1)),
    _sample(2, "WND-DE-001", "North Sea Wind Cluster", "wind", 54.3264, 8.6143, 4.0, "FlexPower GmbH", "2025-05-01",
            (("turbine_model", "Siemens SWT-3.6-120"), ("turbine_count", 5), ("hub_height_meters", 100)), "4.0",
            date(2025, 5, 1), None, "fixed", "75.0", "fixed_for_capacity", "3.0", "",
            "thomas.mueller@windkraft-gmbh.com"),
    _sample(3, "WND-DE-002", "Thuringia Wind Site", "wind", 50.9848, 11.0299, 6.6, "FlexPower GmbH", "2024-09-10",
            (("turbine_model", "Vestas V112"), ("turbine_count", 4), ("hub_height_meters", 95)), "6.6",
            date(2024, 9, 1), date(2029, 9, 1), "market", "", "percent_of_market", "", "7.0",
            "petra.weber@greenenergy-solutions.de"),
    _sample(4, "WND-DE-003", "North Frisia Wind Farm", "wind", 54.7805, 8.8281, 5.6, "WindEnergy Nord GmbH", "2024-03-15",
            (("turbine_model", "Siemens Gamesa SG 6.0-155"), ("turbine_count", 2), ("hub_height_meters", 120)), "5.6",
            date(2024, 9, 1), None, "fixed", "", "fixed_as_produced", "", "7.0",
            "alexander.hoffmann@renewables-corp.com"),
)

_REGIONS = ("Brandenburg", "Bavaria", "Saxony", "Thuringia", "Hesse", "Lower Saxony", "Schleswig", "Mecklenburg",
            "Palatinate", "Swabia", "Franconia", "Eifel", "Altmark", "Lusatia", "Uckermark", "Emsland", "Holstein",
            "Harz", "Vogtland", "Allgaeu")
_SOLAR_NAMES = ("Solar Park", "Solar Field", "PV Plant", "Sun Farm")
_WIND_NAMES = ("Wind Farm", "Wind Park", "Wind Site", "Wind Cluster")
_TURBINES = (("Vestas V112", 3.45), ("Vestas V150", 4.2), ("Siemens SWT-3.6-120", 3.6), ("Enercon E-126", 4.2),
             ("Nordex N149", 4.5), ("Siemens Gamesa SG 6.0-155", 6.0))
_FIRST = ("anna", "lukas", "julia", "felix", "laura", "jonas", "sophie", "paul", "lea", "max", "marie", "tim")
_LAST = ("becker", "wagner", "schulz", "koch", "richter", "klein", "wolf", "neumann", "schwarz", "braun", "krueger")
_COMPANIES = ("sonnenstrom", "windwerk", "gruenkraft", "ostwind", "solarpark-invest", "energiegenossenschaft",
              "nordenergie", "suedsolar", "buergerwind", "ee-projekt")


def _fmt(x: float) -> str:
    return repr(float(x))


def synthetic_asset(index: int, seed: int, window_start: date, window_days: int) -> Asset:
    """Asset number ``index`` (>= 5): random technology, site, size and contract, stable per (seed, index)."""
    rng = rng_for(seed, "portfolio", index)
    number = index + 1
    technology = "wind" if rng.random() < 0.45 else "solar"
    prefix = "WND" if technology == "wind" else "SOL"
    asset_id = f"{prefix}-DE-{number:03d}"
    if technology == "wind":  # windier in the north
        lat = float(np.round(rng.uniform(50.5, 54.9), 4))
        lon = float(np.round(rng.uniform(7.0, 14.0), 4))
        model, unit_mw = _TURBINES[rng.integers(len(_TURBINES))]
        count = int(rng.integers(1, 9))
        cap = round(unit_mw * count, 3)
        attrs = (("turbine_model", model), ("turbine_count", count), ("hub_height_meters", int(rng.integers(8, 17)) * 10))
        name = f"{_REGIONS[rng.integers(len(_REGIONS))]} {_WIND_NAMES[rng.integers(len(_WIND_NAMES))]} {number}"
    else:
        lat = float(np.round(rng.uniform(47.6, 54.5), 4))
        lon = float(np.round(rng.uniform(6.2, 14.8), 4))
        cap = round(float(rng.uniform(0.4, 15.0)), 3)
        attrs = (("panel_type", ("monocrystalline", "polycrystalline", "bifacial")[rng.integers(3)]),
                 ("tracking_type", ("fixed", "fixed", "single_axis")[rng.integers(3)]))
        name = f"{_REGIONS[rng.integers(len(_REGIONS))]} {_SOLAR_NAMES[rng.integers(len(_SOLAR_NAMES))]} {number}"
    commissioning = date(2018, 1, 1) + timedelta(days=int(rng.integers(0, 7 * 365)))
    # contract period: most began long ago, ~10% begin inside the window, ~5% end inside it, ~55% open-ended
    u = rng.random()
    if u < 0.10 and window_days > 1:
        begin = window_start + timedelta(days=int(rng.integers(1, window_days)))
    else:
        begin = max(commissioning, date(2023, 1, 1)) + timedelta(days=int(rng.integers(0, 500)))
        begin = min(begin, window_start - timedelta(days=1))
    begin = begin.replace(day=1) if rng.random() < 0.7 and begin < window_start else begin
    v = rng.random()
    if v < 0.55:
        end = None
    elif v < 0.60 and window_days > 2:
        end = window_start + timedelta(days=int(rng.integers(1, window_days)))
        end = max(end, begin + timedelta(days=1))
    else:
        end = date(int(rng.integers(2026, 2031)), int(rng.integers(1, 13)), 1)
    price_model = "fixed" if rng.random() < 0.5 else "market"
    price = _fmt(np.round(rng.uniform(55, 95), 1)) if price_model == "fixed" else ""
    fee_model = ("fixed_as_produced", "fixed_for_capacity", "percent_of_market")[rng.integers(3)]
    fee = fee_percent = ""
    if fee_model == "fixed_as_produced":
        fee = _fmt(np.round(rng.uniform(1.0, 4.0), 1))
    elif fee_model == "fixed_for_capacity":
        fee = _fmt(np.round(rng.uniform(1.5, 5.0), 1))
    else:
        fee_percent = _fmt(np.round(rng.uniform(3.0, 9.0), 1))
    if rng.random() < 0.02:  # an inconsistent contract row, as in the sample's WND-DE-003
        if price_model == "fixed":
            price = ""
        else:
            fee, fee_percent = "", fee_percent or _fmt(5.0)
            fee_model = "fixed_as_produced"
    listed_from = begin - timedelta(days=int(rng.integers(0, 21)))
    email = f"{_FIRST[rng.integers(len(_FIRST))]}.{_LAST[rng.integers(len(_LAST))]}@{_COMPANIES[rng.integers(len(_COMPANIES))]}.de"
    return Asset(
        index=index, asset_id=asset_id, short_code=f"{prefix}{number:02d}", name=name, technology=technology,
        latitude=lat, longitude=lon, capacity_mw=cap, owner=f"{_COMPANIES[rng.integers(len(_COMPANIES))].title()} GmbH",
        commissioning_date=commissioning.isoformat(), tech_attributes=attrs, contract_id=f"CON1_{asset_id}",
        metering_point_id=f"MP-{prefix}-{number:03d}", capacity=_fmt(cap), contract_begin=begin, contract_end=end,
        price_model=price_model, price=price, fee_model=fee_model, fee=fee, fee_percent=fee_percent, email=email,
        listed_from=listed_from,
    )


def build_portfolio(n_assets: int, seed: int, window_start: date, window_days: int) -> list[Asset]:
    """The first ``n_assets`` assets: the five sample assets, then synthetic ones."""
    if n_assets < 1:
        raise ValueError("n_assets must be at least 1")
    assets = list(SAMPLE_ASSETS[:n_assets])
    assets += [synthetic_asset(i, seed, window_start, window_days) for i in range(len(assets), n_assets)]
    return assets
