"""Delivering alert transitions: the operations outbox (.eml) and an optional webhook (pure: no Dagster).

* Outbox: ``<data_dir>/outbox/operations/<YYYY-MM-DD>/<HHMMSS>-<change>-<key slug>.eml``, one message per
  delivered transition (opened / reopened / resolved; not ``updated``: a new day of an open cause), its
  subject the alert's title (check or source, entity, days), built with the same mail code as the invoices
  (:mod:`flexpower_dagster.lib.mail`). Nothing is sent: a mail relay or a person picks them up.
* Webhook: a JSON POST per evaluation with its transitions (``{"alerts": [...]}``) to
  ``FLEXPOWER_ALERT_WEBHOOK_URL`` (e.g. a chat tool's incoming webhook). Only ``http``/``https`` URLs are
  accepted (checked when the settings are read: :func:`flexpower_dagster.settings.validate_webhook_url`).
  Delivered means a ``2xx`` status line; a redirect is never followed (a ``302`` is not delivered: the alert
  would otherwise go wherever the receiver points it). The whole delivery — connect, send, the status line —
  has one deadline (:data:`WEBHOOK_TIMEOUT_SECONDS`, a monotonic clock checked before every read, each read's
  socket timeout being the time left), so a receiver that answers one byte every 3 s cannot hold the step.
  A receiver that is down, slow or answers otherwise is reported back, never fails the evaluation — the table
  and the outbox have the alert anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flexpower_dagster.defs.ops.alerts import DELIVERED, Transition
from flexpower_dagster.lib.mail import build_message
from flexpower_dagster.lib.paths import safe_path
from flexpower_dagster.settings import DEFAULT_ALERT_EMAIL, DEFAULT_UI_URL, validate_webhook_url

SENDER = "FlexPower data platform <platform@flexpower.example>"
DEFAULT_RECIPIENT = DEFAULT_ALERT_EMAIL
#: The whole delivery (connect, send, status line) ends within this many seconds.
WEBHOOK_TIMEOUT_SECONDS = 5.0
#: The longest status line read (a receiver streaming a line without end is not waited for).
_MAX_STATUS_LINE = 4096
_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? +(\d{3})(?: [^\r\n]*)?\r?\n")

__all__ = ["payload", "post_webhook", "validate_webhook_url", "write_outbox"]


def _jsonable(alert: Mapping[str, object]) -> dict:
    out = {}
    for k, v in alert.items():
        if k == "details" and isinstance(v, str):
            with contextlib.suppress(ValueError):
                v = json.loads(v)
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out


def payload(transitions: Sequence[Transition], ui_url: str = DEFAULT_UI_URL) -> dict:
    return {
        "source": "flexpower_dagster",
        "alerts": [{"change": t.change, **_jsonable(t.alert), "url": full_link(t.alert.get("link"), ui_url)}
                   for t in transitions if t.change in DELIVERED],
    }


def full_link(link: object, ui_url: str = DEFAULT_UI_URL) -> str | None:
    return f"{ui_url.rstrip('/')}{link}" if isinstance(link, str) and link.startswith("/") else None


class _Deadline(Exception):
    pass


def post_webhook(url: str, body: dict, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> str | None:
    """POST ``body`` as JSON; None when the receiver's status line says ``2xx``, else what went wrong (never
    raises for the receiver). No redirect is followed; everything ends within ``timeout`` seconds in total."""
    data = json.dumps(body, sort_keys=True, default=str).encode()
    parts = urlsplit(validate_webhook_url(url))
    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        return remaining

    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.connect()
        conn.sock.settimeout(left())
        conn.request("POST", target, body=data, headers={
            "Content-Type": "application/json", "User-Agent": "flexpower-alerts", "Connection": "close"})
        received = b""
        while b"\n" not in received and len(received) < _MAX_STATUS_LINE:
            conn.sock.settimeout(left())  # each read gets only the time left of the whole delivery
            chunk = conn.sock.recv(_MAX_STATUS_LINE - len(received))
            if not chunk:
                break
            received += chunk
        status = _STATUS_LINE.match(received)
        if not status:
            return "no HTTP status line in the answer" if received else "the receiver closed the connection without an answer"
        code = int(status.group(1))
        if 200 <= code < 300:
            return None
        if 300 <= code < 400:
            return f"HTTP {code}: a redirect, not followed (point FLEXPOWER_ALERT_WEBHOOK_URL at the final address)"
        return f"HTTP {code}"
    except (_Deadline, TimeoutError):
        return f"TimeoutError: no complete answer within {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def _slug(key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:80]
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def alert_email(t: Transition, to: str, sent_at: datetime, ui_url: str = DEFAULT_UI_URL) -> bytes:
    a = t.alert
    head = {"opened": "ALERT", "reopened": "ALERT again", "resolved": "Resolved"}[t.change]
    lines = [
        f"{head}: {a['message']}",
        "",
        f"Kind: {a['kind']}   Severity: {a['severity']}",
        f"Covers: {a.get('covers') or '-'}" + (f" ({a.get('n_covered')})" if (a.get("n_covered") or 0) > 1 else "")
        + f"   Entity: {a.get('entity') or '-'}",
        f"Since: {a.get('since') or '-'}   Opened: {a.get('opened_at')}" + (f"   Resolved: {a.get('resolved_at')}" if t.change == "resolved" else ""),
        "",
        f"What to do: {a['action']}" if t.change != "resolved" else "Nothing to do: the cause is gone.",
    ]
    link = full_link(a.get("link"), ui_url)
    if link:
        lines.append(f"Dagster UI: {link}")
    lines += ["", f"Details: {a.get('details') or '{}'}", f"Alert key: {a['alert_key']}"]
    digest = hashlib.sha256(f"{a['alert_key']}|{t.change}|{sent_at.isoformat()}".encode()).hexdigest()
    return build_message(
        sender=SENDER, to=to, subject=f"[{a['severity']}] {head}: {a.get('title') or a['kind']}".strip(),
        sent_at=sent_at, message_id=f"<{digest[:24]}@alerts.flexpower.example>",
        headers={"X-FlexPower-Alert-Key": str(a["alert_key"]), "X-FlexPower-Alert-Change": t.change},
        body="\n".join(lines) + "\n",
    )


def write_outbox(data_dir: Path, transitions: Sequence[Transition], now: datetime, to: str = DEFAULT_RECIPIENT,
                 ui_url: str = DEFAULT_UI_URL) -> list[Path]:
    """One .eml per delivered transition (:data:`DELIVERED`) in the operations outbox; returns the files written."""
    sent_at = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    written = []
    for t in (t for t in transitions if t.change in DELIVERED):
        path = safe_path(data_dir, "outbox", "operations", f"{now:%Y-%m-%d}",
                         f"{now:%H%M%S}-{t.change}-{_slug(str(t.alert['alert_key']))}.eml")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(alert_email(t, to, sent_at, ui_url))
        tmp.replace(path)
        written.append(path)
    return written
