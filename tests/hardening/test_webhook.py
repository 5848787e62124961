"""Hardening issue 22, item 4: the alert webhook never follows a redirect, counts only a 2xx as delivered, ends
within one total deadline however slowly the receiver answers, and a non-http(s) URL is refused when the
settings are read. Every receiver is a local server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from flexpower_dagster.defs.ops.delivery import WEBHOOK_TIMEOUT_SECONDS, post_webhook
from flexpower_dagster.settings import Settings

BODY = {"alerts": [{"change": "opened", "kind": "test"}]}


@contextmanager
def http_receiver(status: int, headers: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """A receiver answering every request with ``status``; yields its URL and the paths it was asked for."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(self.path)
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def raw_receiver(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A TCP receiver on 127.0.0.1 that reads the request head and then runs ``answer(conn, stop)``."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                with suppress(OSError):
                    answer(conn, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_2xx_is_delivered():
    with http_receiver(200) as (url, hits):
        assert post_webhook(url + "/hook", BODY) is None
    assert hits == ["/hook"]


def test_a_redirect_is_never_followed_and_not_delivered():
    with http_receiver(204) as (elsewhere, elsewhere_hits), \
            http_receiver(302, {"Location": elsewhere + "/stolen"}) as (url, hits):
        error = post_webhook(url + "/hook", BODY)
    assert error and "302" in error and "redirect" in error
    assert hits == ["/hook"] and elsewhere_hits == []


@pytest.mark.parametrize("status", [100, 301, 307, 404, 500])
def test_only_a_2xx_counts_as_delivered(status):
    if status == 100:  # an informational answer without a final one is no delivery either
        with raw_receiver(lambda c, stop: c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")) as url:
            assert post_webhook(url, BODY, timeout=2)
        return
    with http_receiver(status) as (url, _):
        error = post_webhook(url + "/hook", BODY)
    assert error and str(status) in error


def test_a_receiver_dripping_one_byte_every_3_s_is_cut_at_the_deadline():
    def drip(conn: socket.socket, stop: threading.Event) -> None:
        for byte in b"HTTP/1.1 200 OK\r\n\r\n":
            if stop.wait(3):
                return
            conn.sendall(bytes([byte]))

    with raw_receiver(drip) as url:
        started = time.monotonic()
        error = post_webhook(url, BODY)
        took = time.monotonic() - started
    assert error and "TimeoutError" in error
    assert WEBHOOK_TIMEOUT_SECONDS - 0.5 <= took <= WEBHOOK_TIMEOUT_SECONDS + 1.0, took


def test_a_receiver_that_closes_without_answer_is_not_delivered():
    with raw_receiver(lambda c, stop: None) as url:
        error = post_webhook(url, BODY, timeout=3)
    assert error and "without an answer" in error


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "gopher://h/", "http://", "javascript:alert(1)",
                                 "127.0.0.1:8080/hook", "http://a b/", "http://h:port/"])
def test_a_non_http_webhook_url_is_refused_at_start_up(url, tmp_path):
    with pytest.raises(ValueError, match="FLEXPOWER_ALERT_WEBHOOK_URL") as err:
        Settings.from_env({"FLEXPOWER_ALERT_WEBHOOK_URL": url, "FLEXPOWER_DATA_DIR": str(tmp_path)})
    assert repr(url) in str(err.value) or "whitespace" in str(err.value)
    with pytest.raises(ValueError, match="FLEXPOWER_ALERT_WEBHOOK_URL"):
        Settings(landing_dir=Path(tmp_path), warehouse=tmp_path / "w.duckdb", data_dir=tmp_path, alert_webhook_url=url)


def test_an_http_webhook_url_is_accepted(tmp_path):
    settings = Settings.from_env({"FLEXPOWER_ALERT_WEBHOOK_URL": " https://chat.example/hooks/ops ", "FLEXPOWER_DATA_DIR": str(tmp_path)})
    assert settings.alert_webhook_url == "https://chat.example/hooks/ops"
    assert Settings.from_env({"FLEXPOWER_DATA_DIR": str(tmp_path)}).alert_webhook_url is None
