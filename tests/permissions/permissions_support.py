"""Constants shared by the permissions fixtures and tests (imported by basename, like tests/reporting's)."""

SAMPLE_MONTH = "2025-06-01"
#: The sample's customer who, in ``shared_customer_warehouse``, also holds CON1_SOL-DE-002.
MARIA = "maria.schmidt@energypartners.de"
SECOND_CONTRACT = "CON1_SOL-DE-002"


def policy_data() -> dict:
    """The shipped policy as data (the parsed TOML), for tests that change a few lines of it."""
    import tomllib

    from flexpower_dagster.defs.permissions.policy import POLICY_FILE

    return tomllib.loads(POLICY_FILE.read_text())
