"""The code location's jobs and the tags that say where a run came from (docs/ui.md, "Runs").

Every run has a target the code location defines, so the UI can re-execute it:

* ``make run`` launches :data:`DELIVERY_DAY_JOB` (one run per delivery day), :data:`INVOICE_MONTH_JOB` (one
  run per invoice month) and :data:`REPORT_JOB` (the report site, the warehouse snapshot, the audience snapshots of
  the permissions policy and the audience sites, once);
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
ALERTS_JOB = "alerts_job"

#: Outer limit of a run per job (Dagster run monitoring, ``dagster/max_runtime``; enforced by the daemon under
#: ``make dev``): a day of 1,000 assets takes ~20 min on 2 cores, a month of invoices minutes, the site ~15 min.
#: The per-step limits are in ``limits.py``; the table is in docs/operations.md.
MAX_RUNTIME_SECONDS = {DELIVERY_DAY_JOB: 4 * 3600, INVOICE_MONTH_JOB: 2 * 3600, REPORT_JOB: 2 * 3600, ALERTS_JOB: 600}


#: Marks the unpartitioned jobs that rewrite whole tables or files (``alerts``, ``report``): the cluster profile's run
#: queue (``dagster.cluster.yaml``) admits one run per value at a time, as it admits one run per partition key.
WRITES_TAG = "flexpower/writes"


def _limit(job: str) -> dict[str, str]:
    return {"dagster/max_runtime": str(MAX_RUNTIME_SECONDS[job])}

#: Unpartitioned assets over all days, built once after the days (excluded from the day job).
REPORT_ASSETS = ("report_site", "warehouse_snapshot", "audience_snapshots", "audience_sites")

# The day job mixes staging assets (one day per run) with single-run-backfill marts; Dagster then runs one day
# per run (the smaller policy), which is what staging needs. Its warning about that would print in every process.
warnings.filterwarnings("ignore", message=r"Asset job \S+ materializes assets with varying BackfillPolicies", category=UserWarning)

_DAILY = dg.AssetSelection.tag(*next(iter(DAILY_TAGS.items())))
_MONTHLY = dg.AssetSelection.tag(*next(iter(MONTHLY_TAGS.items())))
_REPORT = dg.AssetSelection.assets(*REPORT_ASSETS)

alerts_job = dg.define_asset_job(
    ALERTS_JOB,
    selection=dg.AssetSelection.assets(["marts", "alerts"]),
    description=(
        "Evaluates what needs a person (marts/alerts): late sources against their deadlines, failed runs, failed "
        "checks, blocked invoices; delivers openings and resolutions (outbox, webhook). docs/operations.md."
    ),
    run_tags={**_limit(ALERTS_JOB), WRITES_TAG: "alerts"},
)


def platform_jobs() -> list:
    """The jobs ``make run`` launches, defined in the code location (so their runs are re-executable)."""
    return [
        dg.define_asset_job(
            DELIVERY_DAY_JOB,
            selection=_DAILY - _REPORT,
            run_tags=_limit(DELIVERY_DAY_JOB),
            description=(
                "Every daily asset of one delivery day and its data-quality checks: staging (the landing files of "
                "the day), then the marts. `make run` launches one run per day; re-execute or backfill a day here."
            ),
        ),
        dg.define_asset_job(
            INVOICE_MONTH_JOB,
            selection=_MONTHLY - _REPORT,
            run_tags=_limit(INVOICE_MONTH_JOB),
            description="The invoices of one month (lines, invoices, documents) and their checks.",
        ),
        dg.define_asset_job(
            REPORT_JOB,
            selection=_REPORT,
            run_tags={**_limit(REPORT_JOB), WRITES_TAG: "report"},
            description=(
                "The report site, the read-only warehouse snapshot, the audience snapshots of the permissions policy "
                "(data/snapshots/<audience>.duckdb) and the audience sites built from them (data/sites/<audience>/), "
                "over every day (run once after the days)."
            ),
        ),
        alerts_job,
    ]
