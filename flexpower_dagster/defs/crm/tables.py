"""Tables of the CRM domain: the staged contract snapshot and the contracts in force."""

from flexpower_dagster.lib.tables import Column, TableSpec

_CONTRACT_COLUMNS = (
    Column("contract_id", "VARCHAR", "Contract id, e.g. CON1_SOL-DE-001", nullable=False),
    Column("asset_id", "VARCHAR", "Asset the contract markets", nullable=False),
    Column("metering_point_id", "VARCHAR", "DSO metering point of the asset"),
    Column("capacity_mw", "DOUBLE", "Installed capacity in MW (CRM column `capacity`)"),
    Column("technology", "VARCHAR", "solar or wind"),
    Column("contract_begin", "DATE", "First delivery day of the contract"),
    Column("contract_end", "DATE", "First delivery day no longer covered (NULL = open-ended)"),
    Column("price_model", "VARCHAR", "fixed or market"),
    Column("price_eur_per_mwh", "DOUBLE", "Fixed infeed price (fixed model)"),
    Column("fee_model", "VARCHAR", "fixed_as_produced, fixed_for_capacity or percent_of_market"),
    Column("fee_eur", "DOUBLE", "Fee: EUR/MWh (fixed_as_produced) or EUR/MW per month (fixed_for_capacity)"),
    Column("fee_percent", "DOUBLE", "Fee in percent of market value (percent_of_market)"),
    Column("email", "VARCHAR", "Customer invoice address"),
)

CRM_CONTRACTS = TableSpec(
    schema="staging",
    name="crm_contracts",
    description="The CRM contract snapshot in effect for the delivery day: the newest snapshot created before the day ends.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        *_CONTRACT_COLUMNS,
        Column("snapshot_created_at", "TIMESTAMP", "When the snapshot was exported (UTC, from the file name)"),
        Column("source_file", "VARCHAR", "Landing file the row came from (lineage)"),
    ),
    key=("delivery_day", "contract_id"),
)

CONTRACTS_IN_FORCE = TableSpec(
    schema="marts",
    name="contracts_in_force",
    description=(
        "Contracts in force on the delivery day (contract_begin <= D < contract_end), from the newest CRM "
        "snapshot created before the end of D, with `valid`/`problems` for inconsistent commercial terms."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        *_CONTRACT_COLUMNS,
        Column("valid", "BOOLEAN", "False when the contract's terms cannot be used (see problems)"),
        Column("problems", "VARCHAR", "Readable list of the problems ('; '-separated), NULL when valid"),
        Column("source_file", "VARCHAR", "CRM snapshot file (lineage)"),
    ),
    key=("delivery_day", "contract_id"),
)
