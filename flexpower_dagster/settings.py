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


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Relative paths are taken relative to the project root."""

    landing_dir: Path
    warehouse: Path
    data_dir: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            landing_dir=_resolve(env.get("FLEXPOWER_LANDING_DIR") or DEFAULT_LANDING_DIR),
            warehouse=_resolve(env.get("FLEXPOWER_WAREHOUSE") or DEFAULT_WAREHOUSE),
            data_dir=_resolve(env.get("FLEXPOWER_DATA_DIR") or "data"),
        )


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()
