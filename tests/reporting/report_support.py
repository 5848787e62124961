"""Constants and helpers shared by the report-site fixtures and tests (imported by basename)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from flexpower_dagster.defs.reporting.site import BuildError, BuildResult
from flexpower_dagster.settings import PROJECT_ROOT

SAMPLE_DAY = "2025-06-08"  # the sample landing zone (tests/conftest.py: SAMPLE_DAY)
REPORTS = PROJECT_ROOT / "reports"
BROKEN_PAGE = "zz-broken-query-check"
BROKEN_PAGE_MD = """---
title: Broken on purpose (test)
---

```sql broken_query
select no_such_column from warehouse.portfolio_day
```

<DataTable data={broken_query}/>
"""


@dataclass
class BuiltSite:
    project: Path
    build: Path
    warehouse: Path
    snapshot: Path
    result: BuildResult
    errors: list[BuildError]


def copy_built_site(site: BuiltSite, dst: Path, drop_broken: bool) -> Path:
    """A copy of the shared build (for the asset tests, which must not rebuild)."""
    shutil.copytree(site.build, dst)
    if drop_broken:
        shutil.rmtree(dst / BROKEN_PAGE, ignore_errors=True)
    return dst
