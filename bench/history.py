"""History: does dispatch stay flat as the ledger grows? (issue 14)

A ledger already holding N finished tasks (1k / 10k / 100k; bench/bulk.py's shape with no
live work, written through the models in one transaction, not through the supervisor) gets
300 new one-task flows of `true`, submitted from this process through the Ledger API while a
warm `supervise --concurrency 1` process runs them; the clock runs from the first submit
until the ledger says all 300 succeeded. Also measured at each size: the supervisor's CPU
per task over those 300, each submit's latency while it runs (p50), and `submit` on the idle
ledger once the supervisor has stopped (p50 of 50, flows awaiting approval so that nothing
runs). The last row is the dispatch rate at the biggest size ÷ at the smallest: 1.0 is flat.

The history is built once per size and copied for each run with SQLite's backup API.
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

from .common import Row, Stat, bench_env, cli, proc_cpu_s, scratch, sqlite_url, stop_process, wait_until

SECTION = "history"
NEW_TASKS = 300
IDLE_SUBMITS = 50


def _label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else f"{size:,}"


def _copy(template: Path, home: Path) -> str:
    """A private copy of the template ledger, through SQLite (never plain file I/O on a ledger)."""
    home.mkdir(mode=0o700)
    target = home / "ledger.db"
    target.touch(mode=0o600)
    src, dst = sqlite3.connect(template), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return sqlite_url(home)


class _Pending:
    """The submitted tasks not yet succeeded, looked up by id: a poll costs the same on any
    schema and at any size of history (counting succeeded tasks would not)."""

    def __init__(self, ledger: object) -> None:
        self.ledger = ledger
        self.ids: set[str] = set()

    def done(self) -> bool:
        Task = self.ledger.m.Task  # type: ignore[attr-defined]
        for chunk in _chunks(sorted(self.ids), 500):
            finished = Task.select(Task.task_id).where(Task.task_id.in_(chunk) & (Task.status == "succeeded"))
            self.ids.difference_update(row[0] for row in finished.tuples())
        return not self.ids


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def once(template: Path, home: Path, new_tasks: int = NEW_TASKS, idle_submits: int = IDLE_SUBMITS) -> dict[str, float]:
    from openclaw_board.ledger import Ledger, command_spec

    url = _copy(template, home)
    with Ledger(url) as ledger:
        proc = subprocess.Popen(cli("--db", url, "supervise", "--concurrency", "1", "--quiet"),
                                env=bench_env(home), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            wait_until(lambda: bool(ledger.supervisors(live_only=True)), 60, 0.05, "the supervisor to register")
            pending = _Pending(ledger)
            cpu0 = proc_cpu_s(proc.pid)
            t0 = time.perf_counter()
            busy = []
            for _ in range(new_tasks):
                s0 = time.perf_counter()
                _, ids = ledger.submit(command_spec("history bench", ["true"]))
                pending.ids.update(ids.values())
                busy.append(time.perf_counter() - s0)
            t1 = wait_until(pending.done, 600, 0.02, f"{new_tasks} tasks to succeed")
            cpu = proc_cpu_s(proc.pid) - cpu0
        finally:
            stop_process(proc)
        idle = []
        for _ in range(idle_submits):
            s0 = time.perf_counter()
            ledger.submit(command_spec("history bench, idle", ["true"], approval=True))
            idle.append(time.perf_counter() - s0)
    return {"rate": new_tasks / (t1 - t0), "sup_cpu_ms": cpu / new_tasks * 1000,
            "submit_busy_ms": statistics.median(busy) * 1000, "submit_idle_ms": statistics.median(idle) * 1000}


def run(quick: bool, runs: int) -> list[Row]:
    from .bulk import fill

    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    rows: list[Row] = []
    rates: dict[int, Stat] = {}
    for size in sizes:
        with scratch() as root:
            template = root / "template" / "ledger.db"
            template.parent.mkdir(mode=0o700)
            fill(sqlite_url(template.parent), size, live=False)
            results = [once(template, root / f"run{i}") for i in range(runs)]
        stat = {key: Stat([r[key] for r in results]) for key in results[0]}
        rates[size] = stat["rate"]
        tag = f"{_label(size)} tasks of history"
        rows.append(Row(SECTION, f"{NEW_TASKS} × `true`, concurrency 1, {tag}", "tasks/s", stat["rate"]))
        rows.append(Row(SECTION, f"supervisor CPU per task, {tag}", "ms", stat["sup_cpu_ms"]))
        rows.append(Row(SECTION, f"`submit` p50 while the supervisor runs, {tag}", "ms", stat["submit_busy_ms"]))
        rows.append(Row(SECTION, f"`submit` p50, idle ledger, {tag}", "ms", stat["submit_idle_ms"]))
    big, small = sizes[-1], sizes[0]
    rows.append(Row(SECTION, f"dispatch at {_label(big)} ÷ at {_label(small)} of history (goal ≥ 0.9: flat)",
                    "tasks/s", rates[big], rates[small], f"at {_label(small)}"))
    return rows
