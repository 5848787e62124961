"""``make run``'s summary of data-quality findings (run_all.findings_lines, issue 26.7): per check, every run
(day) it failed in with the observation of THAT run, on hand-made run outcomes (no Dagster run)."""

from __future__ import annotations

from flexpower_dagster.run_all import RunOutcome, findings_lines, print_findings

DSO = "staging/dso_final_production:completeness"
PRICES = "staging/imbalance_price_final:completeness"
TRADES = "staging/exchange_private_trades:structure"


def outcomes() -> list[RunOutcome]:
    """Three days and a month: an intermittent per-asset warning (different assets on different days), a
    warning with one whole-table observation, a blocking gate on one day, and a day without findings."""
    return [
        RunOutcome("day 2025-06-01", warned_checks=[DSO, PRICES], findings={
            DSO: "SOL-DE-001: 0 of 96 QHs have a final value | WND-DE-002: 0 of 96 QHs have a final value",
            PRICES: "10 of 96 QHs without final reBAP"}),
        RunOutcome("day 2025-06-02"),
        RunOutcome("day 2025-06-03", warned_checks=[DSO], failed_checks=[TRADES], findings={
            DSO: "WND-DE-003: 0 of 96 QHs have a final value",
            TRADES: "column Price: 1 row above 9999 EUR/MWh (12000)"}),
        RunOutcome("day 2025-06-04", warned_checks=[DSO, PRICES], findings={
            DSO: "SOL-DE-002: 0 of 96 QHs have a final value", PRICES: "3 of 96 QHs without final reBAP"}),
        RunOutcome("month 2025-06"),
    ]


def _block(lines: list[str], name: str) -> list[str]:
    """The lines of one check: its header and its per-run lines, up to the next check."""
    start = next(i for i, line in enumerate(lines) if name in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("    ") and not lines[i].startswith("      ")), len(lines))
    return lines[start:end]


def test_each_day_of_a_check_carries_its_own_observation():
    lines = findings_lines(outcomes())
    dso = _block(lines, DSO)
    assert dso[0].split() == ["warning", DSO, "in", "3", "runs"]
    assert [line.split()[:2] for line in dso[1:] if line.split()[0] == "day"] == [
        ["day", "2025-06-01"], ["day", "2025-06-03"], ["day", "2025-06-04"]]
    text = "\n".join(dso)
    # every day's assets, each under its own day: nothing of one day is shown for another
    assert text.index("day 2025-06-01") < text.index("SOL-DE-001") < text.index("WND-DE-002") < text.index("day 2025-06-03")
    assert text.index("day 2025-06-03") < text.index("WND-DE-003") < text.index("day 2025-06-04") < text.index("SOL-DE-002")
    assert "2025-06-02" not in text and "month" not in text  # runs where the check passed are not listed
    prices = "\n".join(_block(lines, PRICES))
    assert "day 2025-06-01  10 of 96 QHs without final reBAP" in prices
    assert "day 2025-06-04  3 of 96 QHs without final reBAP" in prices


def test_blocking_first_then_warnings_with_counts_and_a_single_run_named():
    lines = findings_lines(outcomes())
    assert "1 blocking, 2 warning(s)" in lines[0]
    headers = [line.split()[:2] for line in lines[1:] if not line.startswith("      ")]
    assert headers == [["BLOCKING", TRADES], ["warning", DSO], ["warning", PRICES]]
    trades = _block(lines, TRADES)
    assert trades[0].endswith(f"{TRADES} in day 2025-06-03")
    assert trades[1].split(None, 2)[2] == "column Price: 1 row above 9999 EUR/MWh (12000)"


def test_long_observations_are_cut_per_part_and_counted_and_an_empty_one_says_so():
    many = " | ".join(f"ASSET-{i:02d}: missing" for i in range(9))
    lines = findings_lines([RunOutcome("day 2025-06-05", warned_checks=[DSO], findings={DSO: many}),
                            RunOutcome("day 2025-06-06", warned_checks=[DSO])], width=12, max_parts=4)
    block = _block(lines, DSO)
    assert [line.strip() for line in block[1:6]] == [
        "day 2025-06-05  ASSET-00: mi", "ASSET-01: mi", "ASSET-02: mi", "ASSET-03: mi", "... and 5 more"]
    assert block[6].split(None, 2)[2] == "(no observation recorded)"


def test_no_findings_and_the_printer_prints_the_lines(capsys):
    assert findings_lines([RunOutcome("day 2025-06-02")]) == ["  data quality: every check passed"]
    print_findings(outcomes())
    assert capsys.readouterr().out.splitlines() == findings_lines(outcomes())
