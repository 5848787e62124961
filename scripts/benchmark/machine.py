"""What a measurement ran on: machine, versions, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from benchmark.zones import PROJECT_ROOT


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram_gib() -> float:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def machine() -> dict:
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "duckdb": _version("duckdb"),
        "dagster": _version("dagster"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


#: the benchmark's own output, rewritten by every run
REPORT = "docs/benchmarks.md"


def commit(reports: tuple[str, ...] = (REPORT,)) -> tuple[str, bool]:
    """(HEAD commit, whether tracked files other than the ``reports`` the benchmark rewrites differ from it)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "HEAD") or "unknown"
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return head, any(path not in reports for path in changed)  # the report this benchmark rewrites does not count
