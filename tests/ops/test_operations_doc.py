"""docs/operations.md states every deadline, stage limit and job limit the code enforces (no drift)."""

from flexpower_dagster.defs.ops.alerts import KINDS
from flexpower_dagster.defs.ops.deadlines import DEADLINES
from flexpower_dagster.lib.dagster.jobs import MAX_RUNTIME_SECONDS
from flexpower_dagster.lib.dagster.limits import STAGE_LIMITS_SECONDS
from flexpower_dagster.settings import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "operations.md").read_text()


def test_every_deadline_is_in_the_doc_as_the_code_has_it():
    for d in DEADLINES:
        row = f"| `{d.table}` | {d.system} | {'per asset' if d.per == 'asset' else 'portfolio'} | {d.rule} | {d.severity} | {d.reason} |"
        assert row in DOC, f"docs/operations.md lacks or differs for {d.table}: expected\n{row}"


def test_every_limit_and_alert_kind_is_in_the_doc():
    for stage, seconds in STAGE_LIMITS_SECONDS.items():
        assert f"| {stage} |" in DOC and f"{seconds:,.0f} s" in DOC, stage
    for job, seconds in MAX_RUNTIME_SECONDS.items():
        assert f"`{job}` {seconds:,} s" in DOC, job
    for kind in KINDS:
        assert f"| `{kind}` |" in DOC, kind


def test_the_ui_shows_each_staging_assets_arrival_deadline():
    import dagster as dg

    from flexpower_dagster.definitions import defs

    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    for d in DEADLINES:
        text = specs[dg.AssetKey(["staging", d.table])].metadata["arrival deadline"]
        assert text.startswith(d.rule) and d.severity in text
