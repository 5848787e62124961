"""Reading a landing file as text, strictly (pure: no Dagster)."""

from __future__ import annotations

from pathlib import Path

from flexpower_dagster.lib.errors import SourceFileError


def read_text(path: Path | str, name: str, *, complete_lines: bool = False) -> str:
    """The file's text; strict UTF-8 (a BOM is dropped). Raises ``empty-file`` / ``encoding``.

    ``complete_lines`` (line-oriented files: CSV): the text must end with a line break, else rule
    ``truncated-file`` — the last line was cut off (a file still being written, a broken transfer), and a
    number cut in half (``457.904`` -> ``45``) must never be read as a value.
    """
    data = Path(path).read_bytes()
    if not data.strip():
        raise SourceFileError(name, "empty-file", "the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceFileError(
            name,
            "encoding",
            f"not valid UTF-8 ({exc.reason}, byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "the file must be UTF-8 encoded (was it saved as Latin-1 / Windows-1252?)",
            row=line,
        ) from exc
    if complete_lines and not text.endswith("\n"):
        line = text.count("\n") + 1
        raise SourceFileError(name, "truncated-file", "the last line has no line break: the file is cut off or still being written", row=line)
    return text[1:] if text.startswith("\ufeff") else text  # rule utf8-bom


def first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip("\r")

