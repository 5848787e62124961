"""Wall time, CPU time and peak memory of a command and every process it starts (Linux ``/proc``).

* **wall**: ``time.perf_counter`` around the subprocess;
* **CPU**: user + system time of the command's process tree, from ``wait4`` (the rusage of the command
  includes every descendant it waited for);
* **other load**: CPU time the whole machine spent (``/proc/stat``) minus the command's, per second of wall
  time: how many cores other work kept busy meanwhile (0 on an otherwise idle machine; a shared machine
  makes every figure slower, so the report shows it);
* **peak RSS**: the largest *sum* of the resident set sizes of the process tree (the command and all its
  descendants), sampled every ``interval`` seconds from ``/proc/<pid>/statm``; pages shared between
  processes count once per process (as ``ps``/``psutil`` report them). ``max_rss_single`` is the kernel's
  exact peak of the largest single process (``ru_maxrss``), for comparison.

No third-party package: the harness runs with whatever Python the project has.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
GIB = 1024**3


@dataclass
class Measured:
    """One measured command."""

    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    max_rss_single_bytes: int
    returncode: int
    timed_out: bool = False
    other_load: float = 0.0  # cores kept busy by other processes during the command, on average

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / GIB

    def to_dict(self) -> dict:
        return asdict(self)


def _children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name (field 2) may contain spaces and parentheses: parse after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out


def tree_pids(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children = _children_map()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def tree_rss(root: int) -> int:
    """Sum of the resident set sizes (bytes) of ``root`` and its descendants."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy_s() -> float:
    """CPU seconds the machine has spent busy (all cores, all processes) since boot."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def _kill_tree(root: int) -> None:
    for pid in reversed(tree_pids(root)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def run_measured(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
    interval: float = 0.2,
    timeout: float | None = None,
) -> Measured:
    """Run ``cmd`` (stdout and stderr to ``log_path`` or discarded) and measure it; a command still running
    after ``timeout`` seconds is killed with its whole tree (``timed_out``)."""
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    try:
        busy0 = machine_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        peak, timed_out = 0, False
        while True:
            peak = max(peak, tree_rss(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - t0 > timeout and not timed_out:
                timed_out = True
                _kill_tree(proc.pid)
            time.sleep(interval)
        wall = time.perf_counter() - t0
        busy = machine_busy_s() - busy0
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log_path:
            out.close()
    cpu = usage.ru_utime + usage.ru_stime  # the command and the descendants it waited for
    return Measured(
        wall_s=wall,
        cpu_s=cpu,
        peak_rss_bytes=peak,
        max_rss_single_bytes=usage.ru_maxrss * 1024,
        returncode=proc.returncode,
        timed_out=timed_out,
        other_load=max(0.0, busy - cpu) / wall if wall else 0.0,
    )
