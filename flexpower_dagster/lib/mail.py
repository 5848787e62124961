"""E-mail messages for the outboxes (pure: no Dagster, nothing is ever sent).

One way to build an e-mail, used by the customer invoices (``defs/invoicing/documents.py``) and the
operations alerts (``defs/ops/delivery.py``): RFC 5322 via :class:`email.message.EmailMessage` with the SMTP
policy, explicit ``Date`` and ``Message-ID`` (so the same content gives the same bytes), optional extra
headers and attachments, and a MIME boundary derived from the caller's content hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime


@dataclass(frozen=True)
class Attachment:
    content: bytes
    maintype: str
    subtype: str
    filename: str


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    sent_at: datetime,
    message_id: str,
    body: str,
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
    boundary: str | None = None,
) -> bytes:
    """The message as bytes (SMTP line endings). ``sent_at`` must be timezone-aware; ``to`` must be one
    address (an outbox message goes to exactly one recipient)."""
    if "," in to or ";" in to or not to.strip():
        raise ValueError(f"an outbox message goes to exactly one address, not {to!r}")
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for a in attachments:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    if boundary is not None and attachments:
        msg.set_boundary(boundary)
    return msg.as_bytes(policy=policy.SMTP)
