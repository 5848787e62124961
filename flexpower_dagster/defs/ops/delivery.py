"""Delivering alert transitions: the operations outbox (.eml) and an optional webhook (pure: no Dagster).

* Outbox: ``<data_dir>/outbox/operations/<YYYY-MM-DD>/<HHMMSS>-<change>-<key slug>.eml``, one message per
  delivered transition (opened / reopened / resolved; not ``updated``: a new day of an open cause), its
  subject the alert's title (check or source, entity, days), built with the same mail code as the invoices
  (:mod:`flexpower_dagster.lib.mail`). Nothing is sent: a mail relay or a person picks them up.
* Webhook: a JSON POST per evaluation with its transitions (``{"alerts": [...]}``) to
  ``FLEXPOWER_ALERT_WEBHOOK_URL`` (e.g. a chat tool's incoming webhook). Only ``http``/``https`` URLs are
  accepted; a receiver that is down or slow (:data:`WEBHOOK_TIMEOUT_SECONDS`) is reported back, never fails
  the evaluation — the table and the outbox have the alert anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flexpower_dagster.defs.ops.alerts import DELIVERED, Transition
from flexpower_dagster.lib.mail import build_message
from flexpower_dagster.lib.paths import safe_path
from flexpower_dagster.settings import DEFAULT_ALERT_EMAIL, DEFAULT_UI_URL

SENDER = "FlexPower data platform <platform@flexpower.example>"
DEFAULT_RECIPIENT = DEFAULT_ALERT_EMAIL
WEBHOOK_TIMEOUT_SECONDS = 5.0


def validate_webhook_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL without credentials, else ValueError naming the setting."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"FLEXPOWER_ALERT_WEBHOOK_URL={url!r}: expected an http:// or https:// URL")
    if any(c in url for c in "\r\n "):
        raise ValueError(f"FLEXPOWER_ALERT_WEBHOOK_URL={url!r}: whitespace in the URL")
    return url.strip()


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


def post_webhook(url: str, body: dict, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> str | None:
    """POST ``body`` as JSON; None on a 2xx answer, else what went wrong (never raises for the receiver)."""
    data = json.dumps(body, sort_keys=True, default=str).encode()
    request = urllib.request.Request(validate_webhook_url(url), data=data, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "flexpower-alerts"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


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
