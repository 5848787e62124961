"""Tables of the invoicing domain (monthly, partitioned by ``invoice_month``).

Money is stored twice: as DOUBLE EUR (the warehouse contract's ``net_eur`` / ``vat_eur`` / ``gross_eur``)
and as exact BIGINT cents (``*_cents``); sums over cents are exact, sums over the DOUBLE columns should be
rounded to cents by the reader. See docs/invoicing.md for the rules.
"""

from flexpower_dagster.lib.tables import Column, TableSpec

INVOICE_LINES = TableSpec(
    schema="marts",
    name="invoice_lines",
    description=(
        "Invoice lines per contract and month: infeed payout, fee, redispatch payout. Amounts are positive; "
        "`direction` says who pays whom. Net rounded half-up to cents, VAT 19 % on the rounded net, gross = net + VAT."
    ),
    columns=(
        Column("invoice_month", "DATE", "First day of the invoiced month", nullable=False),
        Column("invoice_id", "VARCHAR", "<YYYY-MM>-<contract_id>", nullable=False),
        Column("line_type", "VARCHAR", "infeed_payout, fee or redispatch_payout", nullable=False),
        Column("line_no", "INTEGER", "Position on the document (1 = infeed payout, 2 = fee, 3 = redispatch)"),
        Column("contract_id", "VARCHAR", "Contract invoiced", nullable=False),
        Column("direction", "VARCHAR", "flexpower_pays_customer or customer_pays_flexpower"),
        Column("description", "VARCHAR", "Text printed on the invoice"),
        Column("volume_mwh", "DOUBLE", "MWh the line is based on, rounded to kWh (3 decimals); NULL for the capacity fee (priced per MW-month)"),
        Column(
            "unit_net_eur_per_mwh",
            "DOUBLE",
            "Contract price per MWh where the line has one (fixed price, fee per MWh), else net / volume (4 decimals); "
            "NULL for the capacity fee (its unit price is EUR/MW-month: see quantity, unit_price)",
        ),
        Column("quantity", "DOUBLE", "Billed quantity as printed (MWh, or MW-months for a capacity fee)"),
        Column("quantity_unit", "VARCHAR", "MWh or MW-month"),
        Column("unit_price", "DOUBLE", "Price per quantity unit as printed (NULL for market-valued lines)"),
        Column("unit_price_unit", "VARCHAR", "EUR/MWh, EUR/MW-month, or a text for market-valued lines"),
        Column("net_eur", "DOUBLE", "Net amount, cents (positive)"),
        Column("vat_eur", "DOUBLE", "VAT 19 % of the rounded net, cents"),
        Column("gross_eur", "DOUBLE", "net_eur + vat_eur"),
        Column("net_cents", "BIGINT", "Net amount in integer cents (exact)"),
        Column("vat_cents", "BIGINT", "VAT in integer cents (exact)"),
        Column("gross_cents", "BIGINT", "Gross in integer cents (exact)"),
        Column("vat_rate", "DOUBLE", "VAT rate applied (0.19)"),
    ),
    key=("invoice_month", "invoice_id", "line_type"),
    partition_column="invoice_month",
)

INVOICES = TableSpec(
    schema="marts",
    name="invoices",
    description=(
        "One invoice per contract and month with totals, status (final / provisional / blocked) and the reasons. "
        "Totals are the balance FlexPower pays the customer (negative = the customer owes FlexPower)."
    ),
    columns=(
        Column("invoice_month", "DATE", "First day of the invoiced month", nullable=False),
        Column("invoice_id", "VARCHAR", "<YYYY-MM>-<contract_id>", nullable=False),
        Column("contract_id", "VARCHAR", "Contract invoiced", nullable=False),
        Column("asset_id", "VARCHAR", "Asset of the contract"),
        Column("metering_point_id", "VARCHAR", "DSO metering point of the asset"),
        Column("email", "VARCHAR", "Customer invoice address"),
        Column("customer_name", "VARCHAR", "Customer's legal name (contract data; NULL: not in the CRM export)"),
        Column("customer_address", "VARCHAR", "Customer's postal address (contract data; NULL: not in the CRM export)"),
        Column("customer_tax_number", "VARCHAR", "Customer's tax number, Steuernummer (NULL: not in the CRM export)"),
        Column("customer_vat_id", "VARCHAR", "Customer's VAT ID, USt-IdNr. (NULL: not in the CRM export)"),
        Column("price_model", "VARCHAR", "fixed or market"),
        Column("fee_model", "VARCHAR", "fixed_as_produced, fixed_for_capacity or percent_of_market"),
        Column("issue_date", "DATE", "Invoice date printed on the document: first day of the following month"),
        Column("period_start", "DATE", "First day invoiced (contract begin or first of month)"),
        Column("period_end", "DATE", "Last day invoiced, inclusive (day before contract end, or last of month)"),
        Column("days_in_force", "INTEGER", "Days of the month inside the contract period"),
        Column("days_in_month", "INTEGER", "Calendar days of the month"),
        Column("n_expected_qh", "INTEGER", "Quarter-hours of the period (days_in_force * 96)"),
        Column("n_qh_final", "INTEGER", "QHs whose MWh came from final DSO data"),
        Column("n_qh_live", "INTEGER", "QHs valued from live measurements"),
        Column("n_qh_forecast", "INTEGER", "QHs valued from the forecast (incl. redispatched forecast = 0)"),
        Column("n_qh_missing", "INTEGER", "QHs without any value: best-of-infeed `missing` plus QHs of missing days"),
        Column("n_qh_redispatched", "INTEGER", "QHs flagged as redispatched by the DSO"),
        Column("final_share", "DOUBLE", "n_qh_final / n_expected_qh"),
        Column("non_final_share", "DOUBLE", "1 - final_share: share of the period not backed by final DSO data"),
        Column("n_missing_days", "INTEGER", "Days of the period with no daily data at all"),
        Column("missing_days", "VARCHAR", "Those days as ranges, e.g. 2025-06-01..2025-06-07, 2025-06-09"),
        Column("n_days_with_data", "INTEGER", "Days of the period with data (delivered days: days_in_force - n_missing_days)"),
        Column("days_with_data", "VARCHAR", "Those days as ranges, e.g. 2025-06-01..2025-06-14"),
        Column("volume_mwh", "DOUBLE", "Invoiced infeed MWh (3 decimals)"),
        Column("payout_net_eur", "DOUBLE", "Net of the lines FlexPower pays the customer"),
        Column("charge_net_eur", "DOUBLE", "Net of the lines the customer pays FlexPower"),
        Column("net_eur", "DOUBLE", "Balance net: payouts - charges (FlexPower -> customer); NULL when blocked"),
        Column("vat_eur", "DOUBLE", "Balance VAT (sum of the lines' rounded VAT, signed)"),
        Column("gross_eur", "DOUBLE", "net_eur + vat_eur"),
        Column("net_cents", "BIGINT", "net_eur in integer cents"),
        Column("vat_cents", "BIGINT", "vat_eur in integer cents"),
        Column("gross_cents", "BIGINT", "gross_eur in integer cents"),
        Column("balance_direction", "VARCHAR", "flexpower_pays_customer or customer_pays_flexpower"),
        Column("status", "VARCHAR", "final, provisional or blocked", nullable=False),
        Column("problems", "VARCHAR", "Reasons ('; '-separated): why blocked, or why provisional"),
        Column("blocked_by", "VARCHAR", "Why blocked: contract (fix the CRM data) or missing_input (load the input); NULL otherwise"),
        Column("html_path", "VARCHAR", "Current document's HTML (the internal draft while provisional), relative to the data directory"),
        Column("pdf_path", "VARCHAR", "Current document's PDF (the internal draft while provisional), relative to the data directory"),
        Column("eml_path", "VARCHAR", "Outbox e-mail of the current sent document (NULL for a draft or a blocked invoice)"),
        Column("document_number", "VARCHAR", "Current customer document FP-<YYYY-MM>-<contract_id>-<seq> (NULL: nothing sent)"),
        Column(
            "document_status",
            "VARCHAR",
            "draft (provisional: internal, not sent), sent (final: this document is in the outbox), held (a document "
            "was sent, the figures are no longer final: nothing new is sent; or a final document lacks a legally "
            "required field: not sent, see hold_reason), NULL (blocked, nothing sent)",
        ),
        Column("replaces_document_number", "VARCHAR", "Sent document this one corrects (cancelled by a cancellation)"),
        Column("hold_reason", "VARCHAR", "Why a final document is held (not sent): the legally required fields it lacks"),
    ),
    key=("invoice_month", "invoice_id"),
    partition_column="invoice_month",
)

INVOICE_DOCUMENTS = TableSpec(
    schema="marts",
    name="invoice_documents",
    description="Manifest of the files written for an invoice month (documents, outbox, operations list) with SHA-256.",
    columns=(
        Column("invoice_month", "DATE", "First day of the invoiced month", nullable=False),
        Column("path", "VARCHAR", "File path relative to the data directory", nullable=False),
        Column("invoice_id", "VARCHAR", "Invoice the file belongs to (NULL for the operations list)"),
        Column("kind", "VARCHAR", "html, pdf, eml or operations"),
        Column("document_number", "VARCHAR", "Customer document the file belongs to (NULL for a draft or the operations list)"),
        Column("bytes", "BIGINT", "File size"),
        Column("sha256", "VARCHAR", "SHA-256 of the content (identical on every re-run of the same data)"),
    ),
    key=("invoice_month", "path"),
    partition_column="invoice_month",
)

INVOICE_REGISTER = TableSpec(
    schema="marts",
    name="invoice_register",
    description=(
        "Every customer document ever sent (final invoices, cancellations), append-only: a sent document is never "
        "changed; a correction is a cancellation of it plus a new invoice document. Carried forward on every run."
    ),
    columns=(
        Column("invoice_month", "DATE", "First day of the invoiced month", nullable=False),
        Column("document_number", "VARCHAR", "FP-<YYYY-MM>-<contract_id>-<seq> (seq 01, 02, ... per invoice)", nullable=False),
        Column("invoice_id", "VARCHAR", "<YYYY-MM>-<contract_id>", nullable=False),
        Column("contract_id", "VARCHAR", "Contract invoiced", nullable=False),
        Column("seq", "INTEGER", "Position in the invoice's document sequence", nullable=False),
        Column("kind", "VARCHAR", "invoice or cancellation", nullable=False),
        Column("refers_to", "VARCHAR", "cancellation: the document it cancels; invoice: the document it replaces (NULL: first)"),
        Column("figures_sha256", "VARCHAR", "SHA-256 of the invoiced figures (of the cancelled document for a cancellation)"),
        Column("email", "VARCHAR", "Recipient"),
        Column("issue_date", "DATE", "Date printed on the document"),
        Column("net_cents", "BIGINT", "Balance net FlexPower -> customer (a cancellation: the cancelled one negated)"),
        Column("vat_cents", "BIGINT", "Balance VAT, signed as net_cents"),
        Column("gross_cents", "BIGINT", "Balance gross, signed as net_cents"),
        Column("html_path", "VARCHAR", "Document HTML, relative to the data directory"),
        Column("pdf_path", "VARCHAR", "Document PDF, relative to the data directory"),
        Column("eml_path", "VARCHAR", "Outbox e-mail, relative to the data directory"),
        Column("html_sha256", "VARCHAR", "SHA-256 of the HTML as sent"),
        Column("pdf_sha256", "VARCHAR", "SHA-256 of the PDF as sent"),
        Column("eml_sha256", "VARCHAR", "SHA-256 of the e-mail as sent"),
    ),
    key=("invoice_month", "document_number"),
    partition_column="invoice_month",
)
