"""The catalogue: owners, one group scheme, code references, defined jobs (flexpower_dagster/lib/dagster/catalog.py,
jobs.py). The UI test (test_dagster_ui.py) checks the same through the webserver."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.definitions import OWNERS, defs
from flexpower_dagster.lib.dagster.catalog import CODE_REFERENCES_KEY, GROUP_SCHEME, owner_of, with_catalog
from flexpower_dagster.lib.dagster.jobs import DELIVERY_DAY_JOB, INVOICE_MONTH_JOB, REPORT_JOB
from flexpower_dagster.lib.dagster.launch import CODE_LOCATION
from flexpower_dagster.settings import PROJECT_ROOT


def _specs():
    return {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}


def test_every_asset_has_its_groups_owner_and_code_references_into_its_domain():
    specs = _specs()
    assert len(specs) == 32  # 30 + customer_statements (issue 25, step 3) + audience_sites (step 2)
    for name, spec in specs.items():
        assert GROUP_SCHEME.fullmatch(spec.group_name), name
        assert spec.owners == [owner_of(spec.group_name, OWNERS)], name
        refs = spec.metadata[CODE_REFERENCES_KEY].code_references
        assert refs, name
        for ref in refs:
            path = Path(ref.file_path)
            assert path.is_file() and path.is_relative_to(PROJECT_ROOT / "flexpower_dagster" / "defs"), (name, path)
            assert 1 <= ref.line_number <= len(path.read_text().splitlines())
    assert {s.owners[0] for s in specs.values()} == {"team:operations", "team:finance", "team:trading", "team:data"}
    assert specs["staging/vpp_forecasts"].group_name == "staging_vpp"
    assert specs["marts/imbalance"].owners == ["team:trading"] and specs["marts/invoices"].owners == ["team:finance"]


def test_a_sql_mart_points_at_its_declaration_and_its_statement():
    refs = _specs()["marts/imbalance"].metadata[CODE_REFERENCES_KEY].code_references
    files = {(Path(r.file_path).name, r.label) for r in refs}
    assert files == {("assets.py", "declaration"), ("sql.py", "SQL statement")}
    sql = next(r for r in refs if r.label == "SQL statement")
    assert Path(sql.file_path).read_text().splitlines()[sql.line_number - 1].startswith("IMBALANCE_SQL =")


def test_an_asset_outside_the_scheme_or_without_owner_stops_the_load():
    @dg.asset(group_name="forecast")
    def stray():
        return None

    @dg.asset(group_name="marts_unowned")
    def orphan():
        return None

    with pytest.raises(ValueError, match="stray: group 'forecast' is outside the scheme") as err:
        with_catalog(dg.Definitions(assets=[stray, orphan]), {"marts_forecast": "team:trading"})
    assert "orphan: group 'marts_unowned' has no owner" in str(err.value)


def test_the_jobs_make_run_launches_are_defined_and_the_code_location_name_agrees():
    for name in (DELIVERY_DAY_JOB, INVOICE_MONTH_JOB, REPORT_JOB):
        assert defs.resolve_job_def(name) is not None
    day = {k.to_user_string() for k in defs.resolve_job_def(DELIVERY_DAY_JOB).asset_layer.executable_asset_keys}
    assert "report_site" not in day and {"staging/crm_contracts", "marts/imbalance"} <= day
    assert f"location_name: {CODE_LOCATION}" in (PROJECT_ROOT / "workspace.yaml").read_text()
    assert f'code_location_name = "{CODE_LOCATION}"' in (PROJECT_ROOT / "pyproject.toml").read_text()


def test_automation_runs_say_where_they_came_from():
    from flexpower_dagster.lib.dagster.automation import AUTOMATION_SENSOR_NAME
    from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG

    sensor = next(s for s in defs.sensors if s.name == AUTOMATION_SENSOR_NAME)
    assert sensor.run_tags[ORIGIN_TAG] == "automation"
