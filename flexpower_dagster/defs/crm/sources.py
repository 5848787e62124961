"""Landing-zone source of the CRM domain (pure, no Dagster): the contract snapshots."""

from __future__ import annotations

import re
from datetime import datetime

from flexpower_dagster.defs.crm.parser import parse_contracts, snapshot_time
from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.lib.landing.source import SourceSpec


def _file_time(basename: str) -> datetime:
    """Snapshot creation time from the name (UTC). A name that is no real instant sorts oldest;
    the parser then rejects it with rule ``file-name`` if it is ever chosen."""
    try:
        return snapshot_time(basename)
    except ValueError:
        return datetime.min


CRM_CONTRACTS_SOURCE = SourceSpec(
    name="crm_contracts",
    system="crm",
    folder="crm",
    pattern=re.compile(r"asset_contracts_\d{8}_\d{6}\.csv"),
    table=CRM_CONTRACTS,
    parse=parse_contracts,
    kind="snapshot",
    file_time=_file_time,
    # a broken newer snapshot falls back to the older one; rows carried forward from the broken
    # file (stored earlier) then win per contract over the older snapshot's rows
    row_key=("contract_id",),
    description=(
        "CRM contract snapshot in effect for the delivery day: every contract of the newest "
        "`crm/asset_contracts_YYYYMMDD_HHMMSS.csv` created before the day ends (a later snapshot "
        "supersedes earlier ones; an unreadable newest snapshot falls back to the previous one). "
        "Capacity in MW, empty contract_end = open-ended. Feeds contracts_in_force, the portfolio "
        "and the metering-point -> asset mapping of the DSO data."
    ),
)
