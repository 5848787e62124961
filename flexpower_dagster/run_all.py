"""``python -m flexpower_dagster.run_all`` (``make run``): build everything the landing zone holds.

1. settings from the environment; an empty or missing landing dir gets the demo landing zone;
2. every delivery day present in the landing zone: one run of ``delivery_day_job`` per day;
3. every invoice month covering those days: one run of ``invoice_month_job`` per month (the invoices, the customer
   statements ``data/statements/<YYYY-MM>/<customer>/``, the invoice documents and e-mails);
4. the report site, the warehouse snapshot for people (``make sql``), the audience snapshots of the permissions
   policy (``data/snapshots/<audience>.duckdb``, docs/permissions.md) and the audience sites built from them
   (``data/sites/<audience>/``): one run of ``report_job``;
5. a short summary: days, row counts per ``marts`` table, where files are, how to look at them.

``--days 2025-06-07..2025-06-08`` builds only those days (and their months), ``--no-report`` skips step 4.

A thin driver: the jobs are the code location's own (``lib/dagster/jobs.py``), and each run is created as
a run of the code location and executed in this process (``lib/dagster/launch.py``), one after the other,
against ``DagsterInstance.get()``: the UI (``make dev``, same ``DAGSTER_HOME``) shows them, tagged
``flexpower/origin=make_run``, and can re-execute them. A failed step or asset check is reported and the
driver goes on with the next run. The exit code is 1 when a step failed for a platform reason.
Data-quality findings are printed per check with every run (day, month) it failed in and what it observed
in that run (``findings_lines``: one day's observation is never shown for another day): warnings (per-entity
findings such as the sample's inconsistent WND-DE-003 contract, isolated where they matter) and blocking gates
(a broken source: the run is red in Dagster, the data is stored, its dependants wait).
"""

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg

from flexpower_dagster.settings import PROJECT_ROOT, Settings

#: The value of the ``flexpower/origin`` tag on the runs of this driver.
ORIGIN = "make_run"
#: Dagster's own console log is silenced: this driver prints one line per run (failed steps with their
#: error, failed checks) and the full logs are in the UI.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    label: str
    ok: bool = True
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)  # severity ERROR (blocking gates)
    skipped_steps: list[str] = field(default_factory=list)  # not run because a blocking check failed upstream
    warned_checks: list[str] = field(default_factory=list)  # severity WARN: reported, not a failure
    findings: dict[str, str] = field(default_factory=dict)  # failed check -> what it observed (its description)
    seconds: float = 0.0


def landing_is_empty(root) -> bool:
    return not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def ensure_landing(settings: Settings) -> None:
    if landing_is_empty(settings.landing_dir):
        from flexpower_dagster.demo import generate

        print(f"landing zone {settings.landing_dir} is empty: generating the demo data ...", flush=True)
        summary = generate(settings.landing_dir)
        print("\n".join(summary.lines()), flush=True)
    else:
        print(f"landing zone: {settings.landing_dir}", flush=True)


def _failure_text(event) -> str:
    """``<step>: <cause>``: the innermost cause (e.g. ``PermissionError: [Errno 13] Permission denied: '/path'``),
    never Dagster's "Error occurred while executing op" wrapper (:func:`flexpower_dagster.lib.failures.failure_line`)."""
    from flexpower_dagster.lib.failures import failure_line

    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    message = failure_line(error) if error is not None else ""
    return f"{event.step_key or '?'}: {message}" if message else (event.step_key or "?")


def _is_blocking_check_failure(event) -> bool:
    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    return error is not None and error.cls_name == "DagsterAssetCheckFailedError"


def _execute(instance: dg.DagsterInstance, job_name: str, label: str, partition_key: str | None) -> RunOutcome:
    from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG
    from flexpower_dagster.lib.dagster.launch import execute_job

    outcome = RunOutcome(label)
    started = time.perf_counter()
    try:
        record = execute_job(
            instance, job_name, partition_key=partition_key, tags={ORIGIN_TAG: ORIGIN}, run_config=QUIET_RUN_CONFIG
        )
        # a step failing only because a blocking check failed is a data-quality finding, reported below
        # as a failed check; any other step failure is a platform failure and makes the exit code 1
        outcome.failed_steps = [_failure_text(e) for e in record.step_failures if not _is_blocking_check_failure(e)]
        outcome.skipped_steps = record.skipped_steps
        for ev in record.check_evaluations:
            if not ev.passed:
                name = f"{'/'.join(ev.asset_key.path)}:{ev.check_name}"
                warn = ev.severity == dg.AssetCheckSeverity.WARN
                (outcome.warned_checks if warn else outcome.failed_checks).append(name)
                outcome.findings[name] = (ev.description or "").strip()
        outcome.ok = not outcome.failed_steps
        if outcome.ok and not record.success and not outcome.failed_checks:
            outcome.ok = False
            outcome.failed_steps = [f"run {record.run.run_id} ended {record.run.status.value}"]
    except Exception as exc:  # a broken definition must not hide the other runs' results
        outcome.ok = False
        outcome.failed_steps = [f"{type(exc).__name__}: {exc}"]
    outcome.seconds = time.perf_counter() - started
    status = "FAILED" if not outcome.ok else "ok, a blocking data-quality check failed" if outcome.failed_checks else "ok"
    warned = f", {len(outcome.warned_checks)} warning check(s)" if outcome.warned_checks else ""
    print(f"  {label:<28} {status} ({outcome.seconds:.1f} s{warned})", flush=True)
    for f in outcome.failed_steps:
        print(f"      failed step: {f}", flush=True)
    for c in outcome.failed_checks:
        print(f"      failed blocking check: {c}", flush=True)
    if outcome.skipped_steps:
        print(f"      not run (downstream of a failed blocking check): {', '.join(outcome.skipped_steps)}", flush=True)
    if outcome.warned_checks:
        print(f"      warnings: {', '.join(sorted(outcome.warned_checks))}", flush=True)
    return outcome


def parse_days(text: str) -> list[date]:
    """``2025-06-08`` or ``2025-06-07..2025-06-09`` (both ends included)."""
    first, _, last = text.partition("..")
    try:
        lo, hi = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD") from None
    if hi < lo:
        raise argparse.ArgumentTypeError(f"{text!r}: the range ends before it starts")
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m flexpower_dagster.run_all", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=parse_days, help="only these delivery days (and their months): D or D1..D2")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the report site, the warehouse snapshot, the audience snapshots and sites")
    return parser.parse_args(argv)


def marts_row_counts(settings: Settings) -> dict[str, int]:
    if not settings.warehouse.exists():
        return {}
    from flexpower_dagster.lib.sql import quote

    with _read_warehouse(settings) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY table_name"
        ).fetchall()]
        return {t: conn.execute(f"SELECT count(*) FROM marts.{quote(t)}").fetchone()[0] for t in tables}


def _read_warehouse(settings: Settings):
    """A read-only connection to the live warehouse with the bounded, logged lock wait every reader of the
    pipeline has (another ``run_all`` may be writing: DuckDB refuses a reader while a writer holds the file)."""
    from flexpower_dagster.lib.warehouse import connect

    return connect(settings.warehouse, read_only=True, wait_seconds=settings.lock_wait_seconds,
                   log=lambda message: print(f"  {message}", flush=True))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home"))
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home, exist_ok=True)
    if (PROJECT_ROOT / "dagster.yaml").exists():  # always, as `make dev` does: queue and run monitoring settings
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", os.path.join(home, "dagster.yaml"))
    settings = Settings.from_env()
    ensure_landing(settings)

    # the code location as the UI loads it (after the demo landing zone exists: its settings file sets the first day)
    from flexpower_dagster.definitions import landing_sources
    from flexpower_dagster.lib.dagster.jobs import ALERTS_JOB, DELIVERY_DAY_JOB, INVOICE_MONTH_JOB, REPORT_JOB
    from flexpower_dagster.lib.dagster.partitions import RANGE, daily_partitions, monthly_partitions
    from flexpower_dagster.lib.dagster.resources import build_resources
    from flexpower_dagster.lib.landing.files import landing_days, scan

    # every day the landing zone's day-defining files touch (delivered days and forecast-only days at the edges,
    # built for the trading view), as the sensors see them: after this, `make dev` finds nothing left to request.
    # One scan for both questions; what dating content-dated files teaches goes to the facts the runs share.
    defining = [s for s in landing_sources() if s.defines_days or s.delivered]
    inventory, facts = scan(settings.landing_dir, defining), build_resources(settings)["landing"].facts()
    days = sorted(landing_days(settings.landing_dir, [s for s in defining if s.defines_days], inventory, facts))
    delivered = landing_days(settings.landing_dir, [s for s in defining if s.delivered], inventory, facts)
    if args.days:
        days = [d for d in days if d in set(args.days)]
    if not days:
        print("no delivery days found in the landing zone" + (" for --days" if args.days else "") + ": nothing to build")
        return 1
    print(f"partitions: {RANGE.describe()}", flush=True)
    known = set(daily_partitions.get_partition_keys())
    build_days = [d for d in days if d.isoformat() in known]
    skipped = [d for d in days if d.isoformat() not in known]
    if skipped:
        print(f"skipping {len(skipped)} day(s) outside the daily partitions: {', '.join(map(str, skipped))}")
    if not build_days:
        return 1

    instance = dg.DagsterInstance.get()
    from flexpower_dagster.defs.ops.runs import reap_dead_runs

    for dead in reap_dead_runs(instance):  # a run killed earlier must not stay "started" (and block make dev)
        print(f"run {dead.run_id} ({dead.job_name}) was still 'started' but {dead.reason}: marked failed")
    outcomes: list[RunOutcome] = []
    forecast_only = [d for d in build_days if d not in delivered]
    print(f"building {len(build_days)} delivery day(s) {build_days[0]}..{build_days[-1]} "
          + (f"({len(forecast_only)} forecast-only: {', '.join(map(str, forecast_only))}) " if forecast_only else "")
          + f"into {settings.warehouse} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})", flush=True)
    for d in build_days:
        outcomes.append(_execute(instance, DELIVERY_DAY_JOB, f"day {d}", d.isoformat()))
    known_months = set(monthly_partitions.get_partition_keys())
    for m in sorted({date(d.year, d.month, 1).isoformat() for d in build_days}):
        if m in known_months:
            outcomes.append(_execute(instance, INVOICE_MONTH_JOB, f"month {m[:7]}", m))
    # what needs a person (late sources, failed runs, findings, blocked invoices): before the report, which shows it
    outcomes.append(_execute(instance, ALERTS_JOB, "alerts", None))
    if not args.no_report:
        outcomes.append(_execute(instance, REPORT_JOB, "report site and snapshots", None))

    print_summary(settings, build_days, outcomes)
    return 0 if all(o.ok for o in outcomes) else 1


#: Parts (`` | ``-separated: one per entity, then the whole-table ones) of one run's observation printed per check.
MAX_OBSERVATION_PARTS = 6


def findings_lines(outcomes: list[RunOutcome], width: int = 160, max_parts: int = MAX_OBSERVATION_PARTS) -> list[str]:
    """The data-quality part of the summary (pure): every failed check once, blocking ones first, with each run
    (delivery day, month, ...) it failed in and what it observed in THAT run, one observation per run: an
    intermittent finding (a different asset missing on different days) is never shown as one day's text."""
    failed: dict[str, tuple[bool, list[tuple[str, str]]]] = {}
    for o in outcomes:
        for name in [*o.failed_checks, *o.warned_checks]:
            blocking, runs = failed.setdefault(name, (name in o.failed_checks, []))
            runs.append((o.label, o.findings.get(name, "")))
    if not failed:
        return ["  data quality: every check passed"]
    n_warn = sum(1 for blocking, _ in failed.values() if not blocking)
    lines = [f"  data-quality findings: {len(failed) - n_warn} blocking, {n_warn} warning(s) "
             "(details: Dagster UI, marts.data_quality_results, the report's data-quality page)"]
    for name, (blocking, runs) in sorted(failed.items(), key=lambda kv: (not kv[1][0], kv[0])):
        where = runs[0][0] if len(runs) == 1 else f"{len(runs)} runs"
        lines.append(f"    {'BLOCKING' if blocking else 'warning '} {name} in {where}")
        label_width = max(len(label) for label, _ in runs)
        for label, text in runs:
            parts = [p.strip()[:width] for p in text.split(" | ") if p.strip()] or ["(no observation recorded)"]
            if len(parts) > max_parts:
                parts = [*parts[:max_parts], f"... and {len(parts) - max_parts} more"]
            for i, part in enumerate(parts):
                lead = label if i == 0 else ""
                lines.append(f"      {lead:<{label_width}}  {part}")
    return lines


def print_findings(outcomes: list[RunOutcome], width: int = 160) -> None:
    print("\n".join(findings_lines(outcomes, width)))


def print_open_alerts(settings: Settings, limit: int = 12, width: int = 150) -> None:
    """The open alerts (marts.alerts), one per cause in their priority (late files first): what needs a person
    after this batch."""
    if not settings.warehouse.exists():
        return
    with _read_warehouse(settings) as conn:
        if not conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
                            "AND table_name = 'alerts'").fetchone()[0]:
            return
        rows = conn.execute(
            "SELECT severity, kind, coalesce(title, message) FROM marts.alerts WHERE status = 'open' "
            "ORDER BY priority, delivery_day DESC NULLS LAST, alert_key"
        ).fetchall()
        kinds = conn.execute("SELECT kind, count(*) FROM marts.alerts WHERE status = 'open' GROUP BY ALL ORDER BY 1").fetchall()
    if not rows:
        print("  alerts: none open")
        return
    print(f"  open alerts: {len(rows)} ({', '.join(f'{n} {k}' for k, n in kinds)}; all: marts.alerts, the report's "
          "Alerts page, data/outbox/operations/)")
    for severity, _, message in rows[:limit]:
        print(f"    {severity:<7} {message[:width]}")
    if len(rows) > limit:
        print(f"    ... and {len(rows) - limit} more")


def print_summary(settings: Settings, days: list[date], outcomes: list[RunOutcome]) -> None:
    failed = [o for o in outcomes if not o.ok]
    gated = [o for o in outcomes if o.ok and o.failed_checks]
    green = len(outcomes) - len(failed) - len(gated)
    print()
    print(f"built {len(days)} delivery day(s) {days[0]}..{days[-1]}: {green}/{len(outcomes)} runs green, "
          f"{len(gated)} stopped by a blocking data-quality gate, {len(failed)} with platform errors")
    for o in failed:
        print(f"  {o.label}: {len(o.failed_steps)} failed step(s)")
    if gated:
        print("  a blocking gate stores the data but holds back the checked asset's dependants (see BLOCKING below)")
    print_findings(outcomes)
    print_open_alerts(settings)
    counts = marts_row_counts(settings)
    if counts:
        print("marts tables (rows):")
        for table, n in counts.items():
            print(f"  marts.{table:<32} {n:>9,}")
    print(f"warehouse:  {settings.warehouse}")
    for name in ("invoices", "outbox", "statements", "snapshots", "sites"):
        path = settings.data_dir / name
        print(f"{name + ':':<11} {path}{'' if path.exists() else ' (not written)'}")
    build = PROJECT_ROOT / "reports" / "build"
    if build.exists():
        # the pages read parquet with HTTP range requests, which python's http.server lacks
        print("report:     .venv/bin/python -m flexpower_dagster.defs.reporting.serve  -> http://127.0.0.1:8000")
    print("Dagster UI: make dev  -> http://127.0.0.1:3000 (runs above are in its history)")


if __name__ == "__main__":
    sys.exit(main())
