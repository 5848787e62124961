"""Serve the built report site on 127.0.0.1 with HTTP range requests (no Dagster).

The pages query parquet files in the browser (DuckDB-wasm). With range requests the browser reads only the
parquet footer and the row groups of the day and asset a page shows; a server without them (Python's
``http.server``) makes it download every data file in full on every page load ("fall back to full HTTP read"
in the console). Any production static host (nginx, S3, ...) supports ranges; this is the local equivalent::

    python -m flexpower_dagster.defs.reporting.serve            # reports/build on http://127.0.0.1:8000/
    python -m flexpower_dagster.defs.reporting.serve --dir /tmp/site/build --port 8001

Hostile requests get an answer, never a dropped connection: a path with a NUL byte, a path that is not
absolute (``GET abc``) or that cannot be decoded is ``400 Bad Request``; a ``Range`` whose numbers are absurd
(more than 18 digits: beyond any file, and Python would refuse to convert thousands of digits) is ``416``; any
other failure while answering is ``500`` (when no status line was sent yet). A connection that sends nothing
for :data:`IDLE_TIMEOUT_SECONDS` is closed (the handler's socket timeout), so idle clients cannot hold threads.
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
from urllib.parse import unquote

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: More digits than this in a range is beyond any file (10**18 bytes): unsatisfiable, never converted.
_MAX_RANGE_DIGITS = 18
#: Seconds a connection may stay silent (while the request is read) before it is closed.
IDLE_TIMEOUT_SECONDS = 30.0


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
    if len(first) > _MAX_RANGE_DIGITS or len(last) > _MAX_RANGE_DIGITS:
        return (-1, -1)
    if first == "":  # suffix: the last N bytes
        n = int(last)
        return (max(size - n, 0), size - 1) if n > 0 and size > 0 else (-1, -1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else (-1, -1)


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """``SimpleHTTPRequestHandler`` plus single byte ranges (``206 Partial Content``) and ``Accept-Ranges``;
    malformed requests are answered (400, 416, 500), silent connections time out."""

    timeout = IDLE_TIMEOUT_SECONDS  # socketserver.StreamRequestHandler: the connection's socket timeout
    #: a request line that cannot be parsed is still answered with a status line (HTTP/0.9 would send none)
    default_request_version = "HTTP/1.0"
    _responded = False

    def send_response(self, code, message=None) -> None:
        self._responded = True
        super().send_response(code, message)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def send_head(self):
        self._responded = False
        problem = malformed_path(self.path)
        if problem:
            self.send_error(HTTPStatus.BAD_REQUEST, problem)
            return None
        try:
            return self._send_head()
        except (ValueError, UnicodeError) as exc:  # e.g. a path the file system cannot take
            if not self._responded:
                self.send_error(HTTPStatus.BAD_REQUEST, f"malformed request ({type(exc).__name__})")
            return None
        except Exception:  # never drop the connection without a status line
            if not self._responded:
                self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)
            return None

    def _send_head(self):
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


def malformed_path(raw: str) -> str | None:
    """Why the request target ``raw`` is malformed (answered 400), or None."""
    if not raw.startswith("/"):
        return "the request target must be an absolute path"
    try:
        decoded = unquote(raw.split("?", 1)[0].split("#", 1)[0], errors="strict")
    except UnicodeDecodeError:
        return "the path is not UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in decoded):
        return "the path holds a control character"
    return None


class QuietRangeRequestHandler(RangeRequestHandler):
    def log_message(self, *args) -> None:  # tests and previews: no access log on stderr
        pass


def make_server(directory: str | Path, port: int = 0, quiet: bool = True,
                idle_timeout: float = IDLE_TIMEOUT_SECONDS) -> ThreadingHTTPServer:
    """A threading server for ``directory`` on 127.0.0.1 (``port`` 0: any free port); a connection silent for
    ``idle_timeout`` seconds is closed."""
    base = QuietRangeRequestHandler if quiet else RangeRequestHandler
    handler = type(base.__name__, (base,), {"timeout": idle_timeout})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(directory)))
    server.daemon_threads = True
    return server


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
