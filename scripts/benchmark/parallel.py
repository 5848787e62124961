"""The parallel backfill benchmark's parts (``scripts/benchmark_parallel.py``, ``make benchmark-parallel``): P worker
processes draining one queue of days, measured together; the Postgres server's share; the marts comparison of the two
warehouses; the results block of docs/scaling.md.

* **wall**: from starting the workers to the last one's exit;
* **CPU**: user + system time of every worker process and what it waited for (``os.wait4`` per worker, summed), and,
  for the DuckLake profile, of the Postgres server (the postmaster's own and its children's time, the exited
  backends included through its ``cutime``/``cstime``: before/after difference);
* **peak memory**: the largest *sum of the RSS of the workers running at the same moment* (sampled, as
  :func:`benchmark.measure.tree_rss`), the kernel's exact peak of the largest single worker (``ru_maxrss``), and
  for Postgres the peak of the sum of its processes' PSS (shared buffers split between the processes sharing them);
* **other load**: CPU the rest of the machine used meanwhile, in cores (0 on an idle machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.measure import TICK, machine_busy_s, tree_pids, tree_rss
from benchmark.report import replace_section
from benchmark.zones import PROJECT_ROOT

WORKER = Path(__file__).with_name("parallel_worker.py")
START = "<!-- parallel-benchmark:start -->"
END = "<!-- parallel-benchmark:end -->"
GB = 1e9
STEP_ROWS = 8  # steps shown in the block's breakdown


# ---------------------------------------------------------------------- the queue of days


def make_queue(folder: Path, days: list[str]) -> Path:
    """A fresh queue of ``days`` (in order) for :mod:`benchmark.parallel_worker`."""
    (folder / "claimed").mkdir(parents=True, exist_ok=False)
    (folder / "days").write_text("\n".join(days) + "\n")
    return folder


# ---------------------------------------------------------------------- Postgres's share


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def _stat_cpu_s(pid: int, children: bool) -> float:
    """utime + stime (+ cutime + cstime: the children it waited for) of ``pid``, in seconds; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(b")") + 2 :].split()  # fields from 3 (state) on: utime is field 14, index 11 here
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / TICK


def tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants, including the descendants that already exited and were
    waited for (their time is in their parent's ``cutime``/``cstime``)."""
    return sum(_stat_cpu_s(pid, children=True) for pid in tree_pids(root))


def tree_pss(root: int) -> int:
    """Sum of the proportional set sizes (bytes) of ``root`` and its descendants (``/proc/<pid>/smaps_rollup``)."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            continue
    return total


# ---------------------------------------------------------------------- the workers, measured together


@dataclass
class WorkersMeasured:
    workers: int
    wall_s: float
    cpu_s: float  # the workers' processes (wait4), summed
    peak_rss_sum_bytes: int  # largest sum of the concurrent workers' RSS (sampled)
    max_rss_single_bytes: int  # kernel peak of the largest single worker
    other_load: float  # cores the rest of the machine kept busy meanwhile, on average
    returncodes: list[int]
    timed_out: bool
    days: list[dict]  # one per day run (parallel_worker's JSON lines), in end order
    per_worker: list[dict] = field(default_factory=list)
    postgres_cpu_s: float | None = None
    postgres_peak_pss_bytes: int | None = None

    @property
    def total_cpu_s(self) -> float:
        return self.cpu_s + (self.postgres_cpu_s or 0.0)

    def failed_days(self, wanted: list[str]) -> list[str]:
        ok = {d["day"] for d in self.days if d.get("success")}
        return [d for d in wanted if d not in ok]

    def to_dict(self) -> dict:
        return {**asdict(self), "total_cpu_s": self.total_cpu_s}


def read_days(path: Path) -> list[dict]:
    """The JSON lines a worker printed (anything else on its stdout is ignored)."""
    out = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
    return out


def run_workers(
    n: int,
    queue: Path,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    postgres_pid: int | None = None,
    interval: float = 0.5,
    timeout: float | None = None,
    log=print,
) -> WorkersMeasured:
    """Start ``n`` workers on ``queue`` together and measure them until the last one exits; a worker still running
    after ``timeout`` seconds is killed with its tree (``timed_out``)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    files = []
    busy0 = machine_busy_s()
    pg0 = tree_cpu_s(postgres_pid) if postgres_pid else None
    t0 = time.perf_counter()
    procs: dict[int, subprocess.Popen] = {}
    for i in range(n):
        out, err = open(log_dir / f"worker-{i}.jsonl", "wb"), open(log_dir / f"worker-{i}.log", "wb")  # noqa: SIM115
        files += [out, err]
        p = subprocess.Popen([sys.executable, str(WORKER), str(queue), f"w{i}"], env=dict(env), cwd=PROJECT_ROOT,
                             stdout=out, stderr=err)
        procs[p.pid] = p
    usages: dict[int, tuple[int, object, float]] = {}  # pid -> (exit code, rusage, seconds)
    peak = 0
    pg_peak = 0
    timed_out = False
    seen_days = 0
    try:
        while len(usages) < n:
            live = [pid for pid in procs if pid not in usages]
            peak = max(peak, sum(tree_rss(pid) for pid in live))
            if postgres_pid:
                pg_peak = max(pg_peak, tree_pss(postgres_pid))
            for pid in live:
                done, status, usage = os.wait4(pid, os.WNOHANG)
                if done:
                    usages[pid] = (os.waitstatus_to_exitcode(status), usage, time.perf_counter() - t0)
            if timeout is not None and not timed_out and time.perf_counter() - t0 > timeout:
                timed_out = True
                log(f"  timeout after {timeout:.0f} s: stopping the workers")
                for pid in live:
                    for q in reversed(tree_pids(pid)):
                        with contextlib.suppress(OSError):
                            os.kill(q, 9)
            done_days = sum(len(read_days(log_dir / f"worker-{i}.jsonl")) for i in range(n))
            if done_days > seen_days:
                seen_days = done_days
                log(f"  {done_days} day(s) done after {time.perf_counter() - t0:.0f} s")
            time.sleep(interval)
        wall = time.perf_counter() - t0
    finally:
        for f in files:
            f.close()
    busy = machine_busy_s() - busy0
    pg_cpu = (tree_cpu_s(postgres_pid) - pg0) if postgres_pid else None
    per_worker, days = [], []
    for i, pid in enumerate(procs):
        code, usage, seconds = usages[pid]
        worker_days = read_days(log_dir / f"worker-{i}.jsonl")
        days += worker_days
        per_worker.append({"worker": f"w{i}", "returncode": code, "wall_s": seconds, "cpu_s": usage.ru_utime + usage.ru_stime,
                           "max_rss_bytes": usage.ru_maxrss * 1024, "days": [d["day"] for d in worker_days]})
    cpu = sum(w["cpu_s"] for w in per_worker)
    days.sort(key=lambda d: d.get("ended") or 0)
    return WorkersMeasured(
        workers=n, wall_s=wall, cpu_s=cpu, peak_rss_sum_bytes=peak,
        max_rss_single_bytes=max(w["max_rss_bytes"] for w in per_worker),
        other_load=max(0.0, busy - cpu - (pg_cpu or 0.0)) / wall if wall else 0.0,
        returncodes=[w["returncode"] for w in per_worker], timed_out=timed_out, days=days, per_worker=per_worker,
        postgres_cpu_s=pg_cpu, postgres_peak_pss_bytes=pg_peak if postgres_pid else None,
    )


def step_totals(days: list[dict]) -> dict[str, float]:
    """Seconds per step summed over the day runs, largest first."""
    totals: dict[str, float] = {}
    for d in days:
        for step, seconds in (d.get("steps") or {}).items():
            totals[step] = totals.get(step, 0.0) + seconds
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def overlap_s(days: list[dict]) -> float:
    """Seconds during which at least two day runs were in progress at once (0 for one worker)."""
    timed = [d for d in days if d.get("started") is not None]
    events = sorted([(d["started"], 1) for d in timed] + [(d["ended"], -1) for d in timed])  # an end before a start
    busy, last, total = 0, None, 0.0
    for t, step in events:
        if busy >= 2 and last is not None:
            total += t - last
        busy += step
        last = t
    return total


# ---------------------------------------------------------------------- the figures: identical or the benchmark fails


def compare_marts(file_sums: Mapping[str, dict], lake_sums: Mapping[str, dict]) -> dict:
    """The marts of the DuckDB file (reference) against the lake's (checksummed in the reference's column order):
    identical only when every table and column of the file has the same rows and digests in the lake, the lake has
    no column the file lacks, and every table only the lake has (created up front by ``create_declared_tables``)
    is empty; and something was built at all (an empty backfill on both sides proves nothing)."""
    from flexpower_dagster.lib.checksums import compare

    result = compare(file_sums, lake_sums)
    only_lake = [t for t in result.new_tables if lake_sums[t]["rows"]]
    rows = sum(t["rows"] for t in file_sums.values())
    problems = result.report().splitlines() if not result.identical else []
    if result.new_columns:
        problems.append("columns only in the lake: " + ", ".join(result.new_columns))
    if only_lake:
        problems.append("tables with rows only in the lake: " + ", ".join(only_lake))
    if rows == 0:
        problems.append("no marts rows on the DuckDB file: nothing was built")
    return {
        "identical": not problems,
        "tables": len(file_sums),
        "rows": rows,
        "empty_tables_only_in_lake": sorted(set(result.new_tables) - set(only_lake)),
        "differences": problems,
    }


# ---------------------------------------------------------------------- docs/scaling.md


def _gb(n: int | None) -> str:
    return "—" if n is None else f"{n / GB:.2f} GB"


def markdown(r: dict) -> str:
    """The generated block of docs/scaling.md from a results dict (build/benchmark/parallel.json)."""
    file, lake, cmp = r["file"], r["lake"], r["comparison"]
    speedup = file["wall_s"] / lake["wall_s"] if lake["wall_s"] else None
    verdict = ("**identical** (" f"{cmp['tables']} marts tables, {cmp['rows']:,} rows)" if cmp["identical"]
               else "**DIFFERENT**: " + "; ".join(cmp["differences"]))
    lines = [
        START,
        f"**Parallel backfill** — `make benchmark-parallel ARGS=\"{r['args']}\"`, {r['finished']} (commit "
        f"`{r['commit'][:10]}`{' dirty' if r.get('dirty') else ''}): {r['assets']} assets x {r['days']} days "
        f"({r['first_day']} .. {r['last_day']}, {r['files']:,} landing files, {r['bytes'] / GB:.2f} GB), every daily "
        f"asset and check of each day (`delivery_day_job`), fresh warehouses. Machine: {r['machine']['cores']} cores, "
        f"{r['machine']['ram_gib']:.0f} GiB, {r['machine']['cpu_model']}. Load: `{r['load_before']}` before, "
        f"`{r['load_after']}` after.",
        "",
        "| | DuckDB file (default profile) | DuckLake in Postgres (cluster profile) |",
        "|---|---|---|",
        f"| runs | 1 process, the days one after the other | {lake['workers']} worker processes on one queue of days |",
        f"| wall | **{file['wall_s']:.0f} s** | **{lake['wall_s']:.0f} s**"
        + (f" ({speedup:.2f}x)" if speedup else "") + " |",
        f"| CPU, workers | {file['cpu_s']:.0f} s | {lake['cpu_s']:.0f} s |",
        f"| CPU, Postgres server | — | {lake['postgres_cpu_s'] or 0:.0f} s |",
        f"| CPU, total | {file['total_cpu_s']:.0f} s | {lake['total_cpu_s']:.0f} s |",
        f"| peak memory: sum of the concurrent workers' RSS (sampled) | {_gb(file['peak_rss_sum_bytes'])} | "
        f"{_gb(lake['peak_rss_sum_bytes'])} |",
        f"| peak memory: largest single worker (kernel) | {_gb(file['max_rss_single_bytes'])} | "
        f"{_gb(lake['max_rss_single_bytes'])} |",
        f"| peak memory: Postgres (sum of PSS) | — | {_gb(lake['postgres_peak_pss_bytes'])} |",
        f"| day runs in progress together | — | {lake['overlap_s']:.0f} s of the wall |",
        f"| median day run | {file['median_day_s']:.0f} s | {lake['median_day_s']:.0f} s |",
        f"| other load on the machine (cores, mean) | {file['other_load']:.2f} | {lake['other_load']:.2f} |",
        f"| warehouse on disk | {_gb(file['warehouse_bytes'])} | {_gb(lake['warehouse_bytes'])} (Parquet; catalog in Postgres) |",
        f"| days built | {file['days_built']} of {r['days']} | {lake['days_built']} of {r['days']} |",
        "",
        f"Marts checksums (`lib/checksums.py`, the DuckDB file as reference): {verdict}. Preparing the lake (Postgres "
        f"start, catalog, {lake.get('declared_tables', 0)} declared tables; `make cluster` does it once) took "
        f"{lake.get('prepare_s', 0):.0f} s, not in the wall above.",
    ]
    f_steps, l_steps = file.get("steps") or {}, lake.get("steps") or {}
    if f_steps or l_steps:
        top = sorted(set(f_steps) | set(l_steps), key=lambda k: -max(f_steps.get(k, 0), l_steps.get(k, 0)))[:STEP_ROWS]
        lines += ["", f"Where the time goes: the {len(top)} longest steps, seconds summed over the day runs (on the lake "
                  "two runs share the cores, so a step's wall there includes waiting for the other run):", "",
                  "| step | DuckDB file | DuckLake |", "|---|---|---|"]
        lines += [f"| `{k}` | {f_steps.get(k, 0):.0f} | {l_steps.get(k, 0):.0f} |" for k in top]
        lines.append(f"| all steps | {sum(f_steps.values()):.0f} | {sum(l_steps.values()):.0f} |")
    lines.append(END)
    return "\n".join(lines)


def write_block(doc: Path, text: str) -> None:
    """Replace the block between the markers in ``doc`` (appended at the end when it has none)."""
    replace_section(doc, START, END, text)
