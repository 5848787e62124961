"""The one error type every parser raises for bad input."""

from __future__ import annotations

#: The longest message detail stored for a rejected file.
MAX_DETAIL_CHARS = 240


class SourceFileError(ValueError):
    """A landing file broke a named rule.

    The message always names the file, the row where it is known (1-based line number of the
    file, header included, or the index of the JSON element) and the rule that was broken, so that
    the person on duty can open the file and see the problem without reading code.
    """

    def __init__(self, file: str, rule: str, detail: str, row: int | None = None) -> None:
        self.file = str(file)
        self.rule = rule
        # a message may quote the file; it is stored and shown, so it stays short and printable
        detail = "".join(ch if ch.isprintable() else "?" for ch in str(detail))
        self.detail = detail if len(detail) <= MAX_DETAIL_CHARS else detail[:MAX_DETAIL_CHARS] + "…"
        self.row = row
        where = f" row {row}" if row is not None else ""
        super().__init__(f"{self.file}{where}: [{rule}] {detail}")

    @property
    def reason(self) -> str:
        """Human-readable reason without the file name (the file is stored next to it)."""
        where = f"row {self.row}: " if self.row is not None else ""
        return f"{where}[{self.rule}] {self.detail}"


#: The longest excerpt of a landing file a message quotes.
EXCERPT_CHARS = 40


def excerpt(value, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable quotation of a value read from a file: control characters replaced, at most
    ``limit`` characters (a rejection reason must never carry a file's content into the warehouse)."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return repr(text if len(text) <= limit else text[:limit] + "…")
