"""``python -m flexpower_dagster.demo [--out DIR] [--assets N] [--start YYYY-MM-DD --days N] [--seed S]``"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from flexpower_dagster.demo.generate import (
    DEFAULT_ASSETS,
    DEFAULT_DAYS,
    DEFAULT_PUBLIC_TRADES,
    DEFAULT_SEED,
    DEFAULT_START,
    generate,
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flexpower_dagster.demo", description=__doc__)
    p.add_argument("--out", type=Path, default=None, help="landing dir (default: FLEXPOWER_LANDING_DIR / data/landing)")
    p.add_argument("--assets", type=int, default=DEFAULT_ASSETS, help="number of assets (first 5 = the sample's)")
    p.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START, help="first delivery day (UTC)")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS, help="number of delivery days")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed -> same bytes)")
    p.add_argument("--public-trades", type=int, default=DEFAULT_PUBLIC_TRADES, help="public trades per day (minimum)")
    args = p.parse_args(argv)
    out = args.out
    if out is None:
        from flexpower_dagster.settings import Settings

        out = Settings.from_env().landing_dir
    summary = generate(out, n_assets=args.assets, start=args.start, days=args.days, seed=args.seed,
                       public_trades_per_day=args.public_trades)
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
