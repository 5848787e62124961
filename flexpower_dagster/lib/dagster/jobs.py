"""The code location's jobs and the tags that say where a run came from (docs/ui.md, "Runs").

Every run has a target the code location defines, so the UI can re-execute it:

* ``make run`` launches :data:`DELIVERY_DAY_JOB` (one run per delivery day), :data:`INVOICE_MONTH_JOB` (one
  run per invoice month) and :data:`REPORT_JOB` (the report site and the warehouse snapshot, once);
* the landing-zone sensors and the automation sensor request asset selections of the implicit asset job,
  which the code location also defines; backfills launched from the UI do the same.

:data:`ORIGIN_TAG` on every run the platform launches says who launched it (``make_run``, ``sensor``,
``automation``); runs of a backfill carry Dagster's own ``dagster/backfill`` tag.
"""

import warnings

import dagster as dg

from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, MONTHLY_TAGS

#: Where a run came from: ``make_run`` (``flexpower_dagster/run_all.py``), ``sensor``, ``automation``.
ORIGIN_TAG = "flexpower/origin"

DELIVERY_DAY_JOB = "delivery_day_job"
INVOICE_MONTH_JOB = "invoice_month_job"
REPORT_JOB = "report_job"

#: Unpartitioned assets over all days, built once after the days (excluded from the day job).
REPORT_ASSETS = ("report_site", "warehouse_snapshot")

# The day job mixes staging assets (one day per run) with single-run-backfill marts; Dagster then runs one day
# per run (the smaller policy), which is what staging needs. Its warning about that would print in every process.
warnings.filterwarnings("ignore", message=r"Asset job \S+ materializes assets with varying BackfillPolicies", category=UserWarning)

_DAILY = dg.AssetSelection.tag(*next(iter(DAILY_TAGS.items())))
_MONTHLY = dg.AssetSelection.tag(*next(iter(MONTHLY_TAGS.items())))
_REPORT = dg.AssetSelection.assets(*REPORT_ASSETS)


def platform_jobs() -> list:
    """The jobs ``make run`` launches, defined in the code location (so their runs are re-executable)."""
    return [
        dg.define_asset_job(
            DELIVERY_DAY_JOB,
            selection=_DAILY - _REPORT,
            description=(
                "Every daily asset of one delivery day and its data-quality checks: staging (the landing files of "
                "the day), then the marts. `make run` launches one run per day; re-execute or backfill a day here."
            ),
        ),
        dg.define_asset_job(
            INVOICE_MONTH_JOB,
            selection=_MONTHLY - _REPORT,
            description="The invoices of one month (lines, invoices, documents) and their checks.",
        ),
        dg.define_asset_job(
            REPORT_JOB,
            selection=_REPORT,
            description="The report site and the read-only warehouse snapshot, over every day (run once after the days).",
        ),
    ]
