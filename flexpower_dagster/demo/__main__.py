"""``python -m flexpower_dagster.demo [--out DIR] [--assets N] [--start YYYY-MM-DD --days N] [--seed S]``

``python -m flexpower_dagster.demo --replay DAY [--speed N | --dry-run] [--into DIR] [--from DIR] [--begin T]``
replays one delivery day into a landing zone at the (sped-up) times its files would arrive (docs/demo.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
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
    r = p.add_argument_group("replay one delivery day file by file (docs/demo.md, 'Watch the position move')")
    r.add_argument("--replay", type=date.fromisoformat, metavar="DAY", help="delivery day to replay (YYYY-MM-DD)")
    r.add_argument("--speed", type=float, default=60.0,
                   help="simulated seconds per real second (60: one simulated hour per real minute; 0: print the schedule)")
    r.add_argument("--dry-run", action="store_true", help="print the schedule, copy nothing")
    r.add_argument("--into", type=Path, default=None, help="target landing dir (default: FLEXPOWER_LANDING_DIR / data/landing)")
    r.add_argument("--from", dest="source", type=Path, default=None,
                   help="source landing zone (default: a fresh demo zone of DAY-2..DAY+1 in a temporary folder, "
                        "from --assets/--seed/--public-trades; DAY is then its day with an intraday trade export)")
    r.add_argument("--begin", type=datetime.fromisoformat, default=None, metavar="YYYY-MM-DDTHH:MM",
                   help="start the replay here (UTC; default DAY-1 12:00); earlier files are copied at once")
    args = p.parse_args(argv)
    if args.replay is not None:
        return replay_main(args)
    out = args.out or _landing_dir()
    summary = generate(out, n_assets=args.assets, start=args.start, days=args.days, seed=args.seed,
                       public_trades_per_day=args.public_trades)
    print("\n".join(summary.lines()))
    return 0


def _landing_dir() -> Path:
    from flexpower_dagster.settings import Settings

    return Settings.from_env().landing_dir


def replay_main(args: argparse.Namespace) -> int:
    """``--replay``: the schedule of the day from the source zone, then printed (dry run) or played."""
    from flexpower_dagster.demo import replay

    if args.speed < 0:
        print(f"--speed must be >= 0 (got {args.speed:g})", file=sys.stderr)
        return 2
    into = Path(args.into or _landing_dir())
    begin = args.begin
    if begin is not None and begin.tzinfo is not None:  # naive = UTC
        begin = begin.astimezone(UTC).replace(tzinfo=None)
    with tempfile.TemporaryDirectory(prefix="flexpower-replay-") as tmp:
        source = args.source
        if source is None:
            source = Path(tmp) / "landing"
            summary = generate(source, n_assets=args.assets, start=args.replay - timedelta(days=2), days=4,
                               seed=args.seed, public_trades_per_day=args.public_trades)
            print(f"source: a fresh demo zone in {source} ({sum(summary.files.values())} files)")
        elif not Path(source).is_dir():
            print(f"--from {source}: no such directory", file=sys.stderr)
            return 2
        if Path(source).resolve() == into.resolve():
            print(f"--from and --into are the same directory ({into}): replay into another landing zone", file=sys.stderr)
            return 2
        try:
            arrivals = replay.schedule(Path(source), args.replay, begin=begin)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        if not arrivals:
            print(f"{source}: no files for delivery day {args.replay}", file=sys.stderr)
            return 1
        first, last = arrivals[0].at, arrivals[-1].at
        print(f"replay of {args.replay}: {len(arrivals)} files, simulated {first:%Y-%m-%d %H:%M}Z .. {last:%Y-%m-%d %H:%M}Z"
              + (f", {replay.duration((last - first).total_seconds() / args.speed)} (h:mm:ss) real time at speed {args.speed:g}"
                 if args.speed > 0 else ""))
        if args.dry_run or args.speed == 0:
            replay.dry_run(arrivals, args.speed)
            return 0
        existing = sum((into / a.target).exists() for a in arrivals)
        if existing:
            print(f"note: {existing} of these files already exist in {into}; each is replaced when its turn comes "
                  "(start from an empty landing zone, e.g. after `make reset`, to watch the day build up)")
        print(f"into: {into}")
        try:
            n = replay.play(arrivals, into, args.speed)
        except KeyboardInterrupt:
            print("replay stopped", file=sys.stderr)
            return 130
        print(f"replayed {n} files into {into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
