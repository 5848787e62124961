"""An update of a month's days re-runs the month's invoicing in ONE run (issue 24: under `dagster dev` the June
month, whose partition key is 2025-06-01, ran twice after every batch of files: invoice_lines and invoices, then on
the next tick invoice_documents alone, because the monthly condition held a monthly dependant back while its monthly
upstream was requested on the same tick; docs/automation.md)."""

import dagster as dg

from flexpower_dagster.lib.dagster.automation import with_automation
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, MONTHLY_TAGS, daily_partitions, monthly_partitions

DAY, MONTH = "2025-03-02", "2025-03-01"


@dg.asset(key=["staging", "src"], partitions_def=daily_partitions, tags=DAILY_TAGS)
def src() -> None: ...


@dg.asset(key=["marts", "day"], deps=[src], partitions_def=daily_partitions, tags=DAILY_TAGS)
def day() -> None: ...


@dg.asset(key=["marts", "invoices"], deps=[day], partitions_def=monthly_partitions, tags=MONTHLY_TAGS)
def invoices() -> None: ...


@dg.asset(key=["marts", "documents"], deps=[invoices], partitions_def=monthly_partitions, tags=MONTHLY_TAGS)
def documents() -> None: ...


def _runs_until_quiet(defs, instance, cursor, job) -> tuple[list[tuple[str, tuple[str, ...]]], object]:
    """The automation's requests executed one run per partition, day before month, until it requests nothing."""
    runs = []
    for _ in range(8):
        r = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = r.cursor
        by_pk: dict[str, list] = {}
        for a in (day, invoices, documents):
            for pk in r.get_requested_partitions(a.key):
                by_pk.setdefault(pk, []).append(a.key)
        if not by_pk:
            return runs, cursor
        for pk in sorted(by_pk, key=lambda p: p != DAY):
            job.execute_in_process(instance=instance, partition_key=pk, asset_selection=by_pk[pk])
            runs.append((pk, tuple(k.path[-1] for k in by_pk[pk])))
    raise AssertionError("automation did not settle")


def test_a_days_update_reruns_its_month_in_one_run_and_then_settles():
    defs = with_automation(dg.Definitions(assets=[src, day, invoices, documents]))
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        job.execute_in_process(instance=instance, partition_key=DAY, asset_selection=[src.key])
        runs, cursor = _runs_until_quiet(defs, instance, None, job)
        assert runs == [(DAY, ("day",)), (MONTH, ("invoices", "documents"))]
        for _ in range(3):  # a new file for the day, three times: each time the day, then the month once
            job.execute_in_process(instance=instance, partition_key=DAY, asset_selection=[src.key])
            runs, cursor = _runs_until_quiet(defs, instance, cursor, job)
            assert runs == [(DAY, ("day",)), (MONTH, ("invoices", "documents"))]
        # and a quiet platform requests nothing
        assert _runs_until_quiet(defs, instance, cursor, job)[0] == []
