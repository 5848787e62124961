"""Streaming equals batch (issues 21 and 29): the sample's files dropped into an empty landing zone in a shuffled
order, then a corrected DSO file and a newer trade export arriving last, processed only by the real source sensors
and the automation conditions (``Platform``: the daemon's loop without a daemon) until nothing more is requested.
Every marts table, daily and monthly (the invoices included), then equals a batch build of the final landing
zone; no run failed but for blocking gates on incomplete inputs; and no invoice was sent for the unsettled month (the sample's June is provisional)."""

import random
import shutil
import time

import dagster as dg
import pytest
from test_end_to_end import Platform

from flexpower_dagster.lib.checksums import compare
from flexpower_dagster.settings import Settings

from sensor_helpers import touch
from support import materialize_day, materialize_month, sample_checksums

pytestmark = pytest.mark.e2e  # the sensors' and the automation's loop over a growing landing zone

DAYS = ("2025-06-07", "2025-06-08", "2025-06-09", "2025-06-10")  # the sample's landing days
MONTH = "2025-06-01"
#: Tables whose rows describe runs and alerts, not figures (compared by their own tests).
NOT_FIGURES = {"data_quality_results", "alerts", "invoice_documents"}


def _checksums(warehouse):
    return {t: v for t, v in sample_checksums(warehouse).items() if t not in NOT_FIGURES}


def _correct(landing):
    """A corrected DSO file for MP-WND-002 (rewritten in place, first QH 10 % lower) and a newer private trade
    export without its last trade (the newest export of a day replaces the older one as a whole)."""
    dso = next((landing / "distribution_system_operator").glob("final_production_MP-WND-002_*.csv"))
    header, first, *rest = dso.read_text().splitlines()
    stamp, kw = first.rsplit(",", 1)
    dso.write_text("\n".join([header, f"{stamp},{float(kw) * 0.9:.3f}", *rest]) + "\n")
    touch(dso)
    old = next((landing / "exchange").glob("Private_Trades-*.csv"))
    newer = old.with_name("Private_Trades-20250608-20250609T020000000Z.csv")
    newer.write_text("".join(old.read_text().splitlines(keepends=True)[:-1]).replace("T00:05:16", "T02:00:00"))
    touch(newer)


def test_a_shuffled_stream_with_corrections_equals_a_batch_build(sample_dir, tmp_path):
    settings = Settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "warehouse.duckdb", data_dir=tmp_path / "data")
    files = sorted(p for p in sample_dir.rglob("*") if p.is_file() and p.name != "README.md")
    random.Random(29).shuffle(files)
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        platform = Platform(settings, instance)
        for batch in (files[:300], files[300:700], files[700:]):
            for src in batch:
                dst = settings.landing_dir / src.relative_to(sample_dir)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                touch(dst)
            platform.settle(max_rounds=16)
        n_stream = len(platform.runs)
        _correct(settings.landing_dir)
        platform.settle(max_rounds=16)
        failed = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.FAILURE]
    seconds = time.perf_counter() - started
    print(f"streamed {len(files)} files + 2 corrections: {n_stream} + {len(platform.runs) - n_stream} runs, {seconds:.0f} s")

    # no run failed for a platform reason: every failed run is a blocking data-quality gate that held a day while
    # its inputs were still incomplete (the Platform asserts that per run; here: nothing else failed in the instance)
    assert len(failed) == len(platform.check_failures), (failed, platform.check_failures)
    # the corrections reached the day's marts and the month's invoices
    late = platform.runs[n_stream:]
    touched = {a for _, _, assets in late for a in assets}
    assert {"staging/dso_final_production", "staging/exchange_private_trades", "marts/best_of_infeed",
            "marts/trading_daily", "marts/invoices"} <= touched

    batch = Settings(landing_dir=settings.landing_dir, warehouse=tmp_path / "batch.duckdb", data_dir=tmp_path / "batch_data")
    for day in DAYS:
        materialize_day(batch, day, raise_on_error=False)
    materialize_month(batch, MONTH, raise_on_error=False)
    diff = compare(_checksums(batch.warehouse), _checksums(settings.warehouse))
    assert diff.identical and not diff.new_tables, diff.report()

    # provisional month: drafts for finance, nothing in the customer outbox
    assert not list((settings.data_dir / "outbox").glob("2025-06/*.eml"))
