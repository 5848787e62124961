"""Materialise the sample day (every daily asset but the report site) and its month (the monthly assets)
into a temporary warehouse and print (or write) the checksums of every ``marts`` table.

    .venv/bin/python scripts/marts_checksums.py                      # print JSON (sample day)
    .venv/bin/python scripts/marts_checksums.py --write tests/golden/sample_day_marts.json
    .venv/bin/python scripts/marts_checksums.py --demo --write tests/golden/demo_day_marts.json

The golden file is the reference of ``tests/test_marts_checksums.py``: refactors and speed-ups must
leave it unchanged (see flexpower_dagster/lib/checksums.py for what is compared).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from flexpower_dagster.settings import Settings

from support import (
    SAMPLE_DAY,
    SAMPLE_DIR,
    demo_landing,
    materialize_day,
    materialize_month,
    sample_checksums,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="write the checksums to this JSON file")
    parser.add_argument("--demo", action="store_true", help="the small demo landing zone (tests/support.py) instead of the sample")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = demo_landing(Path(tmp) / "landing") if args.demo else SAMPLE_DIR
        settings = Settings(landing_dir=landing, warehouse=Path(tmp) / "w.duckdb", data_dir=Path(tmp) / "data")
        materialize_day(settings, SAMPLE_DAY, raise_on_error=False)
        materialize_month(settings, SAMPLE_DAY[:8] + "01")
        sums = sample_checksums(settings.warehouse)
    text = json.dumps(sums, indent=1) + "\n"
    if args.write:
        args.write.write_text(text)
        print(f"wrote {args.write} ({len(sums)} tables)")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
