"""The platform's settings, read from the environment in exactly one place.

Every other module receives these values through Dagster resources (see
``flexpower_dagster.lib.dagster.resources``) so that tests can override them without touching
the environment or module globals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse/flexpower.duckdb"
#: A landing file that changed less than this many seconds ago may still be being written (docs/hardening.md).
DEFAULT_SETTLE_SECONDS = 10.0
#: How long a writer waits for another process's lock on the warehouse (docs/hardening.md).
DEFAULT_LOCK_WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Relative paths are taken relative to the project root."""

    landing_dir: Path
    warehouse: Path
    data_dir: Path
    #: Seconds a landing file must be unchanged before it is read. The environment's default is
    #: DEFAULT_SETTLE_SECONDS; settings built in code (tests over files with fixed contents) default to 0.
    settle_seconds: float = 0.0
    #: Seconds a connection waits while another process holds the warehouse, then fails naming it.
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            landing_dir=_resolve(env.get("FLEXPOWER_LANDING_DIR") or DEFAULT_LANDING_DIR),
            warehouse=_resolve(env.get("FLEXPOWER_WAREHOUSE") or DEFAULT_WAREHOUSE),
            data_dir=_resolve(env.get("FLEXPOWER_DATA_DIR") or "data"),
            settle_seconds=float(env.get("FLEXPOWER_SETTLE_SECONDS") or DEFAULT_SETTLE_SECONDS),
            lock_wait_seconds=float(env.get("FLEXPOWER_LOCK_WAIT_SECONDS") or DEFAULT_LOCK_WAIT_SECONDS),
        )


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()
