"""The one error type every parser raises for bad input."""

from __future__ import annotations


class SourceFileError(ValueError):
    """A landing file broke a named rule.

    The message always names the file, the row where it is known (1-based line number of the
    file, header included, or the index of the JSON element) and the rule that was broken, so that
    the person on duty can open the file and see the problem without reading code.
    """

    def __init__(self, file: str, rule: str, detail: str, row: int | None = None) -> None:
        self.file = str(file)
        self.rule = rule
        self.detail = detail
        self.row = row
        where = f" row {row}" if row is not None else ""
        super().__init__(f"{self.file}{where}: [{rule}] {detail}")

    @property
    def reason(self) -> str:
        """Human-readable reason without the file name (the file is stored next to it)."""
        where = f"row {self.row}: " if self.row is not None else ""
        return f"{where}[{self.rule}] {self.detail}"
