"""Alert delivery: the operations outbox (.eml) and the webhook, against a real HTTP receiver on 127.0.0.1."""

import json
import threading
from datetime import datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from flexpower_dagster.defs.ops import alerts as al
from flexpower_dagster.defs.ops.delivery import payload, post_webhook, validate_webhook_url, write_outbox

NOW = datetime(2025, 6, 9, 19, 0)


def transitions():
    f = al.Finding(alert_key="blocked_invoice:2025-06-CON1_WND-DE-003", kind="blocked_invoice", severity="error",
                   entity="CON1_WND-DE-003", source="marts/invoices", message="Invoice blocked: no price.",
                   action="Fix the contract.", link="/assets/marts/invoices", details={"reasons": "no price"})
    _, changes = al.reconcile([], [f], NOW)
    return changes


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_the_webhook_receives_the_transitions_as_json(receiver):
    url, received = receiver
    assert post_webhook(url, payload(transitions())) is None
    (got,) = received
    assert got["type"] == "application/json"
    (alert,) = got["json"]["alerts"]
    assert alert["change"] == "opened" and alert["entity"] == "CON1_WND-DE-003" and alert["kind"] == "blocked_invoice"
    assert alert["details"] == {"reasons": "no price"}
    assert alert["url"] == "http://127.0.0.1:3000/assets/marts/invoices"


def test_a_receiver_that_is_down_is_reported_not_raised():
    error = post_webhook("http://127.0.0.1:9/nothing-listens", payload(transitions()), timeout=2)
    assert error and "Error" in error


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "http://", "javascript:alert(1)", "http://a b/"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(ValueError, match="FLEXPOWER_ALERT_WEBHOOK_URL"):
        validate_webhook_url(url)


def test_one_email_per_transition_in_the_operations_outbox(tmp_path):
    (path,) = write_outbox(tmp_path, transitions(), NOW, to="ops@example.com")
    assert path.parent == tmp_path / "outbox" / "operations" / "2025-06-09"
    msg = message_from_bytes(path.read_bytes(), policy=policy.SMTP)
    assert msg["To"] == "ops@example.com" and "blocked_invoice" in msg["Subject"] and "[error]" in msg["Subject"]
    assert msg["X-FlexPower-Alert-Key"] == "blocked_invoice:2025-06-CON1_WND-DE-003"
    body = msg.get_content()
    assert "Invoice blocked: no price." in body and "What to do: Fix the contract." in body
    assert "http://127.0.0.1:3000/assets/marts/invoices" in body


def test_the_subject_names_the_source_the_entity_and_the_days(tmp_path):
    from datetime import date

    from flexpower_dagster.defs.ops.deadlines import DEADLINES, Late

    dso = next(d for d in DEADLINES if d.table == "dso_final_production")
    days = [date(2025, 6, d) for d in (2, 3, 4, 5, 9)]
    findings = al.late_data_findings([Late(dso, d, "SOL-DE-001", dso.due_at(d), 5) for d in days], None, NOW.replace(day=20))
    _, changes = al.reconcile([], findings, NOW)
    (path,) = write_outbox(tmp_path, changes, NOW)
    msg = message_from_bytes(path.read_bytes(), policy=policy.SMTP)
    assert msg["Subject"] == "[warning] ALERT: late dso_final_production SOL-DE-001 2025-06-02..06-05, 06-09"
    assert "Covers: 2025-06-02..06-05, 06-09 (5)" in msg.get_content()
