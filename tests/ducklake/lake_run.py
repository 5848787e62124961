"""One delivery day's run on a DuckLake, in a process of its own (the concurrency test starts two at once).

``python tests/ducklake/lake_run.py <descriptor> <landing> <data dir> <day> <start file>``: waits until the start
file exists (both processes begin together), materialises every daily asset of the day and prints one JSON line:
success, wall-clock start and end, and the rows each asset reported writing for the day.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("FLEXPOWER_FIRST_DAY", "2025-01-01")
os.environ.setdefault("FLEXPOWER_LAST_DAY", "tomorrow")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: support

from flexpower_dagster.settings import Settings

from support import materialize_day


def main(descriptor: str, landing: str, data_dir: str, day: str, start_file: str) -> None:
    settings = Settings(landing_dir=Path(landing), warehouse=Path(descriptor), data_dir=Path(data_dir))
    deadline = time.monotonic() + 120
    while not Path(start_file).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.time()
    result = materialize_day(settings, day, raise_on_error=False)
    rows = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        n = mat.metadata.get("dagster/partition_row_count")
        if n is not None:
            rows[mat.asset_key.to_user_string()] = n.value
    failures = [f"{e.step_key}: {(e.message or '')[:300]}" for e in result.all_events if e.is_failure]
    print(json.dumps({"day": day, "success": result.success, "started": started, "ended": time.time(), "rows": rows,
                      "failures": failures}))


if __name__ == "__main__":
    main(*sys.argv[1:])
