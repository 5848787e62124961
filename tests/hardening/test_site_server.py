"""Hardening issue 22, item 5: the local report server answers hostile requests (400 for a NUL byte or a
malformed path, 416 for an absurd Range, a status line always) and closes connections that stay silent.
A real client against 127.0.0.1."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from flexpower_dagster.defs.reporting.serve import byte_range, make_server

DATA = bytes(range(256)) * 40


@pytest.fixture
def site(tmp_path) -> Iterator[int]:
    (tmp_path / "index.html").write_text("<html>ok</html>")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.parquet").write_bytes(DATA)
    server = make_server(tmp_path, idle_timeout=1.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _raw(port: int, request: bytes, timeout: float = 5) -> bytes:
    """Send ``request`` as is and read the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("target", [b"/%00", b"/data/t.parquet%00.html", b"/%00/../index.html", b"/a%0d%0aSet-Cookie:x",
                                    b"/%ff%fe", b"abc", b"*", b"http:x"])
def test_a_malformed_path_is_answered_400(site, target):
    answer = _raw(site, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:80]


def test_an_absurd_range_is_answered_416(site):
    status, _ = _get(site, "/data/t.parquet", {"Range": "bytes=" + "9" * 5000 + "-"})
    assert status == 416
    status, _ = _get(site, "/data/t.parquet", {"Range": "bytes=0-" + "9" * 5000})
    assert status == 416
    assert byte_range("bytes=-" + "1" * 4400, 10) == (-1, -1)


def test_ordinary_requests_still_work(site):
    assert _get(site, "/index.html") == (200, b"<html>ok</html>")
    status, body = _get(site, "/data/t.parquet", {"Range": "bytes=10-19"})
    assert (status, body) == (206, DATA[10:20])
    assert _get(site, "/nothing.html")[0] == 404
    assert _get(site, "/../../etc/passwd")[0] == 404  # never outside the site


def test_every_hostile_request_gets_a_status_line(site):
    for request in (b"GET /%00 HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nRange: bytes=" + b"1" * 5000 + b"-2\r\n\r\n",
                    b"GET /data/t.parquet HTTP/1.1\r\nRange: bytes=" + b"1" * 5000 + b"-\r\n\r\n", b"\x00\x01garbage\r\n\r\n"):
        assert _raw(site, request).startswith(b"HTTP/"), request[:40]
    assert _get(site, "/index.html")[0] == 200  # and the server serves on


def test_a_silent_connection_is_closed(site):
    with socket.create_connection(("127.0.0.1", site), timeout=10) as s:
        started = time.monotonic()
        assert s.recv(10) == b""  # closed by the server, no request ever sent
        assert time.monotonic() - started < 5
    with socket.create_connection(("127.0.0.1", site), timeout=10) as s:
        s.sendall(b"GET /index.html HTTP/1.1\r\n")  # half a request, then silence
        started = time.monotonic()
        while s.recv(1024):
            pass
        assert time.monotonic() - started < 5
    assert _get(site, "/index.html")[0] == 200
