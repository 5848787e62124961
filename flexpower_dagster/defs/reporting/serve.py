"""Serve the built report site on 127.0.0.1 with HTTP range requests (no Dagster).

The pages query parquet files in the browser (DuckDB-wasm). With range requests the browser reads only the
parquet footer and the row groups of the day and asset a page shows; a server without them (Python's
``http.server``) makes it download every data file in full on every page load ("fall back to full HTTP read"
in the console). Any production static host (nginx, S3, ...) supports ranges; this is the local equivalent::

    python -m flexpower_dagster.defs.reporting.serve            # reports/build on http://127.0.0.1:8000/
    python -m flexpower_dagster.defs.reporting.serve --dir /tmp/site/build --port 8001
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Slice:
    """The ``length`` bytes of an open file from its current position (what ``copyfile`` reads)."""

    def __init__(self, handle, length: int):
        self.handle, self.left = handle, length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(size)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte of a single ``Range: bytes=...`` header for a file of ``size`` bytes; None when the
    header is absent or not a single byte range (the whole file is sent); ``(-1, -1)`` when unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        n = int(last)
        return (max(size - n, 0), size - 1) if n > 0 and size > 0 else (-1, -1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else (-1, -1)


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """``SimpleHTTPRequestHandler`` plus single byte ranges (``206 Partial Content``) and ``Accept-Ranges``."""

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def send_head(self):
        path = self.translate_path(self.path)
        if "Range" not in self.headers or os.path.isdir(path) or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        wanted = byte_range(self.headers.get("Range"), size)
        if wanted is None:
            return super().send_head()
        if wanted == (-1, -1):
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        first, last = wanted
        handle = open(path, "rb")  # noqa: SIM115 (closed by the caller through _Slice.close)
        handle.seek(first)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()
        return _Slice(handle, last - first + 1)


class QuietRangeRequestHandler(RangeRequestHandler):
    def log_message(self, *args) -> None:  # tests and previews: no access log on stderr
        pass


def make_server(directory: str | Path, port: int = 0, quiet: bool = True) -> ThreadingHTTPServer:
    """A threading server for ``directory`` on 127.0.0.1 (``port`` 0: any free port)."""
    handler = QuietRangeRequestHandler if quiet else RangeRequestHandler
    return ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(directory)))


def main(argv: list[str] | None = None) -> int:
    from flexpower_dagster.settings import PROJECT_ROOT

    parser = argparse.ArgumentParser(prog="python -m flexpower_dagster.defs.reporting.serve", description=__doc__)
    parser.add_argument("--dir", type=Path, default=PROJECT_ROOT / "reports" / "build", help="built site")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not (args.dir / "index.html").exists():
        print(f"no built site in {args.dir}: run `make run` (or materialise report_site) first", file=sys.stderr)
        return 1
    server = make_server(args.dir, args.port, quiet=False)
    print(f"serving {args.dir} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
