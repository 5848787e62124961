"""The platform's settings, read from the environment in exactly one place.

Every other module receives these values through Dagster resources (see
``flexpower_dagster.lib.dagster.resources``) so that tests can override them without touching
the environment or module globals.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse/flexpower.duckdb"
#: The Evidence project (``FLEXPOWER_REPORTS_DIR``): ``report_site`` builds it and publishes ``<dir>/build``, where the
#: position asset rewrites the trading desk's data file (docs/reports.md, "Trading desk").
DEFAULT_REPORTS_DIR = "reports"
#: A landing file that changed less than this many seconds ago may still be being written (docs/hardening.md).
DEFAULT_SETTLE_SECONDS = 10.0
#: How long a writer waits for another process's lock on the warehouse (docs/hardening.md).
DEFAULT_LOCK_WAIT_SECONDS = 600.0
DEFAULT_ALERT_EMAIL = "operations@flexpower.example"
DEFAULT_UI_URL = "http://127.0.0.1:3000"
#: ``FLEXPOWER_LAST_DAY=tomorrow``: the partitions grow with the clock (docs/ui.md, "Partition range").
TOMORROW = "tomorrow"
#: The first delivery day FlexPower runs on this platform (its go-live): the first daily partition unless
#: ``FLEXPOWER_FIRST_DAY`` says otherwise. The demo and the sample data (May/June 2025) lie after it.
GO_LIVE = date(2025, 5, 1)
#: A landing zone may carry settings for its data (a replay: the demo writes it); hidden, so never a landing file.
LANDING_SETTINGS_FILE = ".flexpower.env"
LANDING_SETTING_KEYS = frozenset({"FLEXPOWER_FIRST_DAY", "FLEXPOWER_LAST_DAY", "FLEXPOWER_NOW"})

# FlexPower's identity as printed on its invoices and credit notes (docs/invoicing.md). DEMO VALUES: every default
# says "DEMO" so that no document built with them can pass for a real one; production sets FLEXPOWER_ISSUER_*.
DEFAULT_ISSUER_NAME = "FlexPower GmbH (DEMO)"
DEFAULT_ISSUER_ADDRESS = "Musterstrasse 1, 10115 Berlin, Germany (DEMO ADDRESS)"
DEFAULT_ISSUER_TAX_NUMBER = "DEMO 00/000/00000"
DEFAULT_ISSUER_VAT_ID = "DE000000000 (DEMO)"
DEFAULT_ISSUER_EMAIL = "invoicing@flexpower.example"
DEFAULT_ISSUER_IBAN = "DE00 0000 0000 0000 0000 00 (DEMO)"


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Relative paths are taken relative to the project root."""

    landing_dir: Path
    warehouse: Path
    data_dir: Path
    #: The published report site whose desk data file the position asset rewrites (``<FLEXPOWER_REPORTS_DIR>/build``,
    #: default ``reports/build``); settings built in code (tests) default to None: no desk file is written.
    site_dir: Path | None = None
    #: Seconds a landing file must be unchanged before it is read. The environment's default is
    #: DEFAULT_SETTLE_SECONDS; settings built in code (tests over files with fixed contents) default to 0.
    settle_seconds: float = 0.0
    #: Seconds a connection waits while another process holds the warehouse, then fails naming it.
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
    #: First delivery day (partition) the code location knows; None: :data:`GO_LIVE`.
    first_day: date | None = None
    #: Last delivery day: a date, or ``TOMORROW``/None: tomorrow, growing with the clock.
    last_day: date | str | None = None
    #: The clock the alert deadlines are evaluated against (``FLEXPOWER_NOW``, naive UTC); None: the wall clock.
    #: For replaying history (the sample day, the demo) as if it were that moment (docs/operations.md).
    now: datetime | None = None
    #: Optional webhook for alerts (JSON POST, e.g. a chat tool); None: table and outbox only.
    alert_webhook_url: str | None = None
    #: Where alert e-mails are addressed (the operations outbox).
    alert_email: str = DEFAULT_ALERT_EMAIL
    #: The Dagster UI as people reach it (links in alerts).
    ui_url: str = DEFAULT_UI_URL
    #: FlexPower as issuer of invoices / self-billed credit notes (legal name, postal address, Steuernummer,
    #: USt-IdNr., invoicing e-mail, bank account). The defaults are DEMO values (see DEFAULT_ISSUER_*).
    issuer_name: str = DEFAULT_ISSUER_NAME
    issuer_address: str = DEFAULT_ISSUER_ADDRESS
    issuer_tax_number: str = DEFAULT_ISSUER_TAX_NUMBER
    issuer_vat_id: str = DEFAULT_ISSUER_VAT_ID
    issuer_email: str = DEFAULT_ISSUER_EMAIL
    issuer_iban: str = DEFAULT_ISSUER_IBAN
    #: Multiplies every stage's step time limit (``lib/dagster/limits.py``): raise it for a bigger portfolio
    #: or a slower machine (``FLEXPOWER_STEP_LIMIT_FACTOR``, docs/operations.md). Positive and finite.
    step_limit_factor: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.step_limit_factor) and self.step_limit_factor > 0):
            raise ValueError(f"FLEXPOWER_STEP_LIMIT_FACTOR must be a positive number, not {self.step_limit_factor!r}")
        if self.alert_webhook_url is not None:  # refused at start-up, not at the first alert
            object.__setattr__(self, "alert_webhook_url", validate_webhook_url(self.alert_webhook_url))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        landing = _resolve(env.get("FLEXPOWER_LANDING_DIR") or DEFAULT_LANDING_DIR)
        env = {**landing_settings(landing), **env}  # the environment wins over the landing zone's own file
        return cls(
            landing_dir=_resolve(env.get("FLEXPOWER_LANDING_DIR") or DEFAULT_LANDING_DIR),
            warehouse=_resolve(env.get("FLEXPOWER_WAREHOUSE") or DEFAULT_WAREHOUSE),
            data_dir=_resolve(env.get("FLEXPOWER_DATA_DIR") or "data"),
            site_dir=reports_dir(env) / "build",
            settle_seconds=float(env.get("FLEXPOWER_SETTLE_SECONDS") or DEFAULT_SETTLE_SECONDS),
            lock_wait_seconds=float(env.get("FLEXPOWER_LOCK_WAIT_SECONDS") or DEFAULT_LOCK_WAIT_SECONDS),
            first_day=_day("FLEXPOWER_FIRST_DAY", env.get("FLEXPOWER_FIRST_DAY")),
            last_day=_last_day(env.get("FLEXPOWER_LAST_DAY")),
            now=_now(env.get("FLEXPOWER_NOW")),
            alert_webhook_url=(env.get("FLEXPOWER_ALERT_WEBHOOK_URL") or "").strip() or None,
            alert_email=(env.get("FLEXPOWER_ALERT_EMAIL") or "").strip() or DEFAULT_ALERT_EMAIL,
            ui_url=(env.get("FLEXPOWER_UI_URL") or "").strip() or DEFAULT_UI_URL,
            issuer_name=(env.get("FLEXPOWER_ISSUER_NAME") or "").strip() or DEFAULT_ISSUER_NAME,
            issuer_address=(env.get("FLEXPOWER_ISSUER_ADDRESS") or "").strip() or DEFAULT_ISSUER_ADDRESS,
            issuer_tax_number=(env.get("FLEXPOWER_ISSUER_TAX_NUMBER") or "").strip() or DEFAULT_ISSUER_TAX_NUMBER,
            issuer_vat_id=(env.get("FLEXPOWER_ISSUER_VAT_ID") or "").strip() or DEFAULT_ISSUER_VAT_ID,
            issuer_email=(env.get("FLEXPOWER_ISSUER_EMAIL") or "").strip() or DEFAULT_ISSUER_EMAIL,
            issuer_iban=(env.get("FLEXPOWER_ISSUER_IBAN") or "").strip() or DEFAULT_ISSUER_IBAN,
            step_limit_factor=float(env.get("FLEXPOWER_STEP_LIMIT_FACTOR") or 1.0),
        )


def reports_dir(environ: dict[str, str] | None = None) -> Path:
    """The Evidence project ``report_site`` builds (``FLEXPOWER_REPORTS_DIR``, default ``reports``); the published
    site is its ``build/`` folder."""
    env = os.environ if environ is None else environ
    return _resolve(env.get("FLEXPOWER_REPORTS_DIR") or DEFAULT_REPORTS_DIR)


#: ``make serve``'s port on 127.0.0.1 (``FLEXPOWER_SERVE_PORT``; docs/permissions.md, "Serving with authentication").
DEFAULT_SERVE_PORT = 8080


def serve_port(environ: dict[str, str] | None = None) -> int:
    """The port ``make serve`` listens on (``FLEXPOWER_SERVE_PORT``, default :data:`DEFAULT_SERVE_PORT`), 1-65535."""
    env = os.environ if environ is None else environ
    raw = (env.get("FLEXPOWER_SERVE_PORT") or "").strip()
    if not raw:
        return DEFAULT_SERVE_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"FLEXPOWER_SERVE_PORT={raw!r}: expected a port number 1-65535")
    return int(raw)


def validate_webhook_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL without whitespace, else ValueError naming the setting."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"FLEXPOWER_ALERT_WEBHOOK_URL={url!r}: expected an http:// or https:// URL (e.g. https://chat.example/hooks/ops); "
            "unset it to deliver alerts to the table and the outbox only"
        )
    if any(c in url.strip() for c in "\r\n\t "):
        raise ValueError(f"FLEXPOWER_ALERT_WEBHOOK_URL={url!r}: whitespace in the URL")
    try:
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError as exc:
        raise ValueError(f"FLEXPOWER_ALERT_WEBHOOK_URL={url!r}: {exc}") from None
    return url.strip()


def landing_settings(landing_dir: Path) -> dict[str, str]:
    """The settings a landing zone carries for its data (:data:`LANDING_SETTINGS_FILE`, ``KEY=VALUE`` lines; only
    :data:`LANDING_SETTING_KEYS`): a replay of history such as the demo sets its first day and its clock there.
    One small file read, never a scan; absent for a live landing zone."""
    try:
        text = (landing_dir / LANDING_SETTINGS_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in LANDING_SETTING_KEYS:
            out[key.strip()] = value.strip()
    return out


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def _day(name: str, value: str | None) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a day as YYYY-MM-DD") from None


def _last_day(value: str | None) -> date | str | None:
    if value and value.strip().lower() == TOMORROW:
        return TOMORROW
    try:
        return _day("FLEXPOWER_LAST_DAY", value)
    except ValueError:
        raise ValueError(f"FLEXPOWER_LAST_DAY={value!r}: expected a day as YYYY-MM-DD or {TOMORROW!r}") from None


def _now(value: str | None) -> datetime | None:
    """``FLEXPOWER_NOW``: an ISO timestamp in UTC (``2025-06-10T12:00`` or with ``Z``/``+00:00``)."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"FLEXPOWER_NOW={value!r}: expected an ISO timestamp, e.g. 2025-06-10T12:00Z") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
