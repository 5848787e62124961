"""Dagster wiring of the audience sites (logic in :mod:`.sites` and :mod:`.leaks`; docs/permissions.md).

``audience_sites`` builds ``<data dir>/sites/<audience>/`` for every internal audience of the policy from its scoped
snapshot, each for the path ``make serve`` serves it under (``/<audience>/``), two Evidence builds at a time, after
``audience_snapshots`` (the data) and ``report_site`` (the full site's Evidence build never overlaps these):
``make run`` builds it at the end of the report job; under ``make dev`` the automation rebuilds it once after both.
A site with a query error, a page set other than planned or any leak found by the scan fails the asset naming it,
and that audience's published site stays as it was. The leak scan reads its identifiers from the warehouse snapshot
(``snapshot.duckdb``, written with the audience snapshots in the same writer run): the asset never opens the live
warehouse and runs in the ``site`` pool, beside the warehouse writer (docs/automation.md, "Concurrency").
"""

import time
from pathlib import Path

import dagster as dg

from flexpower_dagster.defs.permissions.assets import POLICY
from flexpower_dagster.defs.permissions.sites import SITE_BUILD_WORKERS, SITES_DIR, build_sites
from flexpower_dagster.lib.dagster.lanes import SITE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities
from flexpower_dagster.lib.dagster.resources import Alerting, DataDir, WarehouseSnapshot
from flexpower_dagster.settings import reports_dir as default_reports_dir


class AudienceSitesConfig(dg.Config):
    """Where the Evidence project lives, and how many audience sites are built at once."""

    reports_dir: str = str(default_reports_dir())  # FLEXPOWER_REPORTS_DIR, default reports/
    workers: int = SITE_BUILD_WORKERS


@dg.asset(
    key="audience_sites",
    deps=[dg.AssetKey("audience_snapshots"), dg.AssetKey("warehouse_snapshot"), dg.AssetKey("report_site")],
    pool=SITE_POOL,
    group_name="reporting",
    kinds={"evidence"},
    description=(
        "The report site per internal audience of the permissions policy (<data dir>/" + SITES_DIR + "/<audience>/: "
        f"{', '.join(a.name for a in POLICY.internal_audiences())}), built from the audience's scoped snapshot with only "
        "the pages whose report tables it may see (derived from the page SQL), every file leak-scanned before it is "
        "published; each built for its path under `make serve` (/<audience>/). docs/permissions.md."
    ),
)
@limited("reporting")
def audience_sites(
    context: dg.AssetExecutionContext, config: AudienceSitesConfig, snapshot: WarehouseSnapshot, data_dir: DataDir,
    alerting: Alerting,
) -> dg.MaterializeResult:
    reports = Path(config.reports_dir)
    started = time.monotonic()
    with snapshot.connect(log=context.log.info) as conn:  # the identifiers no audience may find (leak scan)
        builds, failures = build_sites(reports, data_dir.path, POLICY, conn, ui_url=alerting.ui_url,
                                       log=context.log.info, workers=config.workers)
    for site in builds:
        context.log.info(
            f"{site.audience}: {site.how}, pages {', '.join(site.plan.urls) or '(none)'} in {site.seconds:.1f} s "
            f"(Evidence {site.evidence_seconds:.1f} s, leak scan {site.scan_seconds:.1f} s), {site.files} files; "
            + "; ".join(f"{url} left out: {why}" for url, why in site.plan.left_out.items())
        )
    for failure in failures:  # the other audiences' sites are still built and published
        context.log.error(failure)
    if failures:
        raise dg.Failure(description=f"{len(failures)} audience site(s) not published:\n" + "\n".join(f"- {f}" for f in failures))
    metadata = {
        "directory": dg.MetadataValue.path(str(data_dir.path / SITES_DIR)),
        "policy_sha256": POLICY.sha256,
        "sites": len(builds),
        "seconds": round(time.monotonic() - started, 1),  # wall: the builds overlap
        "workers": config.workers,
    }
    for site in builds:
        metadata[f"{site.audience}_pages"] = dg.MetadataValue.json(site.plan.urls)
        metadata[f"{site.audience}_left_out"] = dg.MetadataValue.json(site.plan.left_out)
        metadata[f"{site.audience}_build_seconds"] = site.seconds
        metadata[f"{site.audience}_files"] = site.files
    return dg.MaterializeResult(metadata=quantities(metadata))
