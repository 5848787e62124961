"""Metadata that plots: numbers labelled with their unit and rounded, shares in %, the declared table name
and key columns declared NOT NULL (flexpower_dagster/lib/dagster/metadata.py)."""

from __future__ import annotations

import dagster as dg

from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.lib.dagster.metadata import column_schema, quantities, quantity, table_metadata


def test_numbers_get_their_unit_and_rounding():
    md = quantities({
        "latest_mwh": 56.57500000001, "cost_eur": 971.749999, "vwap_eur_per_mwh": 33.88043, "share_final": 0.8,
        "mean_forecast_share": 0.016666, "n_trades": 3349, "files_used": 1, "peak_latest_mw": None,
        "build_seconds": dg.MetadataValue.float(1.5), "per_asset": "| a |", "dagster/partition_row_count": 480,
        "mwh_final": 127.11249000000002,
    })
    assert md == {
        "latest (MWh)": 56.575, "cost (EUR)": 971.75, "VWAP (EUR/MWh)": 33.88, "share final (%)": 80.0,
        "mean forecast share (%)": 1.7, "trades (count)": 3349, "files used (count)": 1,
        "peak latest (MW)": dg.MetadataValue.null(), "build (s)": 1.5, "per_asset": "| a |",
        "dagster/partition_row_count": 480, "final (MWh)": 127.112,
    }
    assert quantity("valid", True) is None and quantity("snapshot_file", "crm/x.csv") is None
    # a label is the same whatever the value: a partition without a peak plots as a gap, not as another series
    assert quantity("peak_latest_mw", None)[0] == quantity("peak_latest_mw", 3.0)[0]
    assert quantity("n_trades", None) == ("trades (count)", None) and quantity("best_qh", None) is None


def test_table_name_is_schema_dot_table_and_key_columns_are_not_null():
    md = table_metadata(BEST_OF_INFEED)
    assert md["dagster/table_name"] == "marts.best_of_infeed"
    schema = column_schema(BEST_OF_INFEED)
    nullable = {c.name: c.constraints.nullable for c in schema.columns}
    assert all(nullable[k] is False for k in BEST_OF_INFEED.key)
    assert schema.constraints.other == ["key (delivery_day, asset_id, delivery_start): not null, unique"]
