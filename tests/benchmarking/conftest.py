"""The benchmark harness lives in ``scripts/benchmark/`` (not a package of the project): put ``scripts/`` on the path."""

from __future__ import annotations

import sys

from flexpower_dagster.settings import PROJECT_ROOT

SCRIPTS = PROJECT_ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
