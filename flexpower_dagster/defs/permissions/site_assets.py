"""Dagster wiring of the audience sites (logic in :mod:`.sites` and :mod:`.leaks`; docs/permissions.md).

``audience_sites`` builds ``<data dir>/sites/<audience>/`` for every internal audience of the policy from its scoped
snapshot, after ``audience_snapshots`` (the data) and ``report_site`` (the full site, which is data-engineering's):
``make run`` builds it at the end of the report job; under ``make dev`` the automation rebuilds it once after both.
A site with a query error, a page set other than planned or any leak found by the scan fails the asset naming it,
and that audience's published site stays as it was. The leak scan reads its identifiers from the warehouse snapshot
(``snapshot.duckdb``, written with the audience snapshots in the same writer run): the asset never opens the live
warehouse and runs in the ``site`` pool, beside the warehouse writer (docs/automation.md, "Concurrency").
"""

from pathlib import Path

import dagster as dg

from flexpower_dagster.defs.permissions.assets import POLICY
from flexpower_dagster.defs.permissions.sites import SITES_DIR, SiteBuildError, build_audience_site, remove_stale_sites
from flexpower_dagster.lib.dagster.lanes import SITE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities
from flexpower_dagster.lib.dagster.resources import Alerting, DataDir, WarehouseSnapshot
from flexpower_dagster.settings import reports_dir as default_reports_dir


class AudienceSitesConfig(dg.Config):
    """Where the Evidence project lives (its ``build/`` is the full site data-engineering's site is copied from)."""

    reports_dir: str = str(default_reports_dir())  # FLEXPOWER_REPORTS_DIR, default reports/


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
        "published; data-engineering's is the full site. docs/permissions.md."
    ),
)
@limited("reporting")
def audience_sites(
    context: dg.AssetExecutionContext, config: AudienceSitesConfig, snapshot: WarehouseSnapshot, data_dir: DataDir,
    alerting: Alerting,
) -> dg.MaterializeResult:
    reports = Path(config.reports_dir)
    builds, failures = [], []
    with snapshot.connect(log=context.log.info) as conn:  # the identifiers no audience may find (leak scan)
        for audience in POLICY.internal_audiences():
            try:
                site = build_audience_site(reports, data_dir.path, POLICY, audience, conn, full_site=reports / "build",
                                           ui_url=alerting.ui_url, log=context.log.info)
            except SiteBuildError as error:  # the other audiences' sites are still built
                failures.append(str(error))
                context.log.error(str(error))
                continue
            builds.append(site)
            context.log.info(
                f"{site.audience}: {site.how}, pages {', '.join(site.plan.urls) or '(none)'} in {site.seconds:.1f} s "
                f"(Evidence {site.evidence_seconds:.1f} s, leak scan {site.scan_seconds:.1f} s), {site.files} files; "
                + "; ".join(f"{url} left out: {why}" for url, why in site.plan.left_out.items())
            )
    removed = remove_stale_sites(data_dir.path, POLICY)
    if removed:
        context.log.info(f"removed the sites of audiences the policy no longer has (or dead work copies): {removed}")
    if failures:
        raise dg.Failure(description=f"{len(failures)} audience site(s) not published:\n" + "\n".join(f"- {f}" for f in failures))
    metadata = {
        "directory": dg.MetadataValue.path(str(data_dir.path / SITES_DIR)),
        "policy_sha256": POLICY.sha256,
        "sites": len(builds),
        "seconds": round(sum(s.seconds for s in builds), 1),
    }
    for site in builds:
        metadata[f"{site.audience}_pages"] = dg.MetadataValue.json(site.plan.urls)
        metadata[f"{site.audience}_left_out"] = dg.MetadataValue.json(site.plan.left_out)
        metadata[f"{site.audience}_build_seconds"] = site.seconds
        metadata[f"{site.audience}_files"] = site.files
    return dg.MaterializeResult(metadata=quantities(metadata))
