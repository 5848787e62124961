"""docs/permissions.md carries the audience x data matrix rendered from the policy; it must not drift."""

from __future__ import annotations

import dataclasses
import shutil

from permissions_support import policy_data

from flexpower_dagster.defs.permissions.matrix import BEGIN, DOC, END, main, render_matrix, replace_generated
from flexpower_dagster.defs.permissions.policy import parse_policy
from flexpower_dagster.lib.tables import Column
from flexpower_dagster.settings import PROJECT_ROOT


def test_the_doc_shows_the_matrix_rendered_from_the_policy(policy):
    doc = DOC.read_text()
    assert doc.count(BEGIN) == 1 and doc.count(END) == 1
    assert replace_generated(doc, render_matrix(policy)) == doc, (
        "docs/permissions.md is out of date: python -m flexpower_dagster.defs.permissions.matrix --write")
    assert "| `marts.invoices` | all | – | all columns | 20 of 49 columns | 45 of 49 columns, own contracts' rows |" in doc


def test_a_new_column_of_a_granted_table_changes_the_rendering(policy):
    spec = policy.tables["marts.trading_daily"]
    grown = dataclasses.replace(spec, columns=(*spec.columns, Column("desk_bonus_eur", "DOUBLE")))
    changed = parse_policy(policy_data(), {**policy.tables, spec.qualified_name: grown}, policy.sha256)
    rendered = render_matrix(changed)
    assert rendered != render_matrix(policy)
    assert "desk_bonus_eur" in rendered


def test_check_and_write(policy, tmp_path):
    doc = tmp_path / "permissions.md"
    shutil.copy(DOC, doc)
    assert main(["--check", "--doc", str(doc)]) == 0
    doc.write_text(doc.read_text().replace("| `marts.alerts` | all |", "| `marts.alerts` | none |"))
    assert main(["--check", "--doc", str(doc)]) == 1
    assert main(["--write", "--doc", str(doc)]) == 0
    assert doc.read_text() == DOC.read_text()


def test_the_readme_links_the_permissions_doc():
    assert "(docs/permissions.md)" in (PROJECT_ROOT / "README.md").read_text()
