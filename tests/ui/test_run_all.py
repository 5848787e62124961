"""``make run``'s command line (flexpower_dagster/run_all.py); the runs it makes are tested in test_dagster_ui.py."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from flexpower_dagster.run_all import parse_args, parse_days


def test_days_and_ranges():
    assert parse_days("2025-06-08") == [date(2025, 6, 8)]
    assert parse_days("2025-06-30..2025-07-02") == [date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2)]
    with pytest.raises(argparse.ArgumentTypeError, match="the range ends before it starts"):
        parse_days("2025-06-08..2025-06-07")
    with pytest.raises(argparse.ArgumentTypeError, match="expected YYYY-MM-DD"):
        parse_days("8.6.2025")
    args = parse_args(["--days", "2025-06-07..2025-06-08", "--no-report"])
    assert args.days == [date(2025, 6, 7), date(2025, 6, 8)] and args.no_report
    assert parse_args([]).days is None and not parse_args([]).no_report
