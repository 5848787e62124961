"""Constants shared by the permissions fixtures and tests (imported by basename, like tests/reporting's)."""

from pathlib import Path

SAMPLE_MONTH = "2025-06-01"
#: The sample's customer who, in ``shared_customer_warehouse``, also holds CON1_SOL-DE-002.
MARIA = "maria.schmidt@energypartners.de"
SECOND_CONTRACT = "CON1_SOL-DE-002"

#: The Evidence project, its pages, and what the shipped policy gives each internal audience (docs/permissions.md,
#: "Audience sites": a policy change that moves a page shows up in the site tests).
REPORTS = Path(__file__).resolve().parents[2] / "reports"
ALL_PAGES = ["/", "/alerts/", "/asset/", "/data-quality/", "/desk/", "/imbalance/", "/invoices/", "/trading/"]
EXPECTED_PAGES = {
    "data-engineering": ALL_PAGES,
    "trading": ["/desk/", "/imbalance/", "/trading/"],
    "finance": ["/invoices/"],
    "management": [],
}


def policy_data() -> dict:
    """The shipped policy as data (the parsed TOML), for tests that change a few lines of it."""
    import tomllib

    from flexpower_dagster.defs.permissions.policy import POLICY_FILE

    return tomllib.loads(POLICY_FILE.read_text())
