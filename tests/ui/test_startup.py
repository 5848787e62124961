"""Run start-up (issue 27, point 3): loading the code location, which every run worker, sensor tick in a fresh
process and CLI command does first, imports nothing that only some steps need and touches no file of the landing
zone, the warehouse or the data folder (docs/benchmarks.md, "Run start-up")."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flexpower_dagster.settings import PROJECT_ROOT

#: Imported by the steps that need them, once per process: data-quality checks (Great Expectations, and scipy through
#: it), invoice documents (fpdf, Jinja2); never by the tests' browser or a plot library.
DEFERRED = ("great_expectations", "scipy", "fpdf", "jinja2", "playwright", "matplotlib")

_PROBE = """
import json, sys, warnings
warnings.simplefilter("ignore")
import flexpower_dagster.definitions as d
jobs = [j.name for j in d.defs.resolve_all_job_defs()]
print(json.dumps({"loaded": sorted(m for m in %r if m in sys.modules), "jobs": len(jobs)}))
"""


def test_loading_the_code_location_defers_heavy_imports_and_reads_no_file(tmp_path):
    env = dict(
        os.environ,
        FLEXPOWER_LANDING_DIR=str(tmp_path / "no_landing_zone"),
        FLEXPOWER_WAREHOUSE=str(tmp_path / "warehouse" / "w.duckdb"),
        FLEXPOWER_DATA_DIR=str(tmp_path / "data"),
        FLEXPOWER_REPORTS_DIR=str(tmp_path / "reports"),
        DAGSTER_HOME=str(tmp_path / "home"),
    )
    out = subprocess.run([sys.executable, "-c", _PROBE % (DEFERRED,)], cwd=PROJECT_ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["loaded"] == [], f"imported while loading the definitions: {probe['loaded']}"
    assert probe["jobs"] > 0
    # nothing was created or scanned: no landing zone, no warehouse, no data folder (manifest), no Dagster home
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_deferred_modules_still_work_where_they_are_needed():
    """The lazy imports are real: a check runs Great Expectations, an invoice is drawn with fpdf and Jinja2."""
    from flexpower_dagster.defs.invoicing import documents, pdf
    from flexpower_dagster.lib.quality import gx_runner

    assert gx_runner.gx_context() is gx_runner.gx_context()  # one context per process
    assert documents._html_template() is documents._html_template()
    assert "great_expectations" in sys.modules and "jinja2" in sys.modules
    assert callable(pdf.render_pdf)
