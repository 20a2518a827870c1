"""Dispatch: N trivial tasks (`true`) end to end, at concurrency 1 and 2.

- ours: a `openclaw-board supervise --concurrency C` process on a fresh SQLite ledger, warm
  (registered) before the clock starts; the clock runs from the first submit (Ledger API,
  one flow per task, from this process) until the ledger says all N succeeded.
- huey: a `huey_consumer` with SqliteHuey storage and a process worker pool (`-k process
  -w C`), warm (it ran one task) before the clock starts; the clock runs from the first
  enqueue until all N results are stored. Its workers poll every 0.1-0.2 s when idle (our
  supervisor's poll interval is 0.2 s; both wake at once while there is work).
- floor: a bare loop keeping C `true` processes in flight (Popen + waitpid).
- submit → running: an idle `supervise` process (nothing running, nothing queued), one task
  submitted at a time at moments out of step with any poll; the ledger's own timestamps,
  the task's `created_at` to its `started_at` (the claim). How soon an idle supervisor
  notices new work: its wake-up on the ledger's change, or its poll.

Both systems get the same shape of work: submitted from one process, run by another.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import (
    Row,
    Stat,
    bench_env,
    cli,
    collect,
    pg_reason,
    pg_schema,
    proc_cpu_s,
    scratch,
    sqlite_url,
    stop_process,
    wait_until,
)

SECTION = "dispatch"


def floor_rate(n: int, concurrency: int) -> float:
    """Tasks per second of a bare loop spawning `true`, `concurrency` at a time."""
    t0 = time.perf_counter()
    live: dict[int, subprocess.Popen[bytes]] = {}
    started = 0
    while started < n or live:
        while started < n and len(live) < concurrency:
            proc = subprocess.Popen(["true"])
            live[proc.pid] = proc
            started += 1
        pid, status = os.waitpid(-1, 0)
        live.pop(pid).returncode = os.waitstatus_to_exitcode(status)
    return n / (time.perf_counter() - t0)


def _succeeded(ledger: object) -> int:
    Task = ledger.m.Task  # type: ignore[attr-defined]
    return Task.select().where(Task.status == "succeeded").count()


def ours_rate(n: int, concurrency: int) -> dict[str, float]:
    """Tasks per second through submit + an external supervisor + the ledger; its CPU per task."""
    from openclaw_board.ledger import Ledger, command_spec

    with scratch() as home:
        url = sqlite_url(home)
        env = bench_env(home)
        with Ledger(url) as ledger:
            before = _children_cpu_s()
            proc = subprocess.Popen(cli("--db", url, "supervise", "--concurrency", str(concurrency), "--quiet"),
                                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            try:
                wait_until(lambda: bool(ledger.supervisors(live_only=True)), 60, 0.05, "the supervisor to register")
                cpu0 = proc_cpu_s(proc.pid)
                t0 = time.perf_counter()
                for _ in range(n):
                    ledger.submit(command_spec("bench", ["true"]))
                t1 = wait_until(lambda: _succeeded(ledger) >= n, 600, 0.02, f"{n} tasks to succeed")
                sup_all = proc_cpu_s(proc.pid)
                cpu = sup_all - cpu0
            finally:
                stop_process(proc)
            # Everything the supervise process waited for (its forker, which waited for the
            # wrappers, which waited for the commands) less its own CPU: the runs' cost.
            runs_cpu = _children_cpu_s() - before - sup_all
    return {"rate": n / (t1 - t0), "sup_cpu_ms": cpu / n * 1000, "run_cpu_ms": runs_cpu / n * 1000}


def _children_cpu_s() -> float:
    """User + system CPU of this process's children that ended and were waited for."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def submit_to_start(url: str, home: Path, n: int) -> list[float]:
    """ms from a task's creation to its claim, for n tasks submitted one at a time to an idle supervisor."""
    from openclaw_board.ledger import Ledger, command_spec

    proc = subprocess.Popen(cli("--db", url, "supervise", "--concurrency", "1", "--quiet"), env=bench_env(home),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: list[float] = []
    try:
        with Ledger(url) as ledger:
            wait_until(lambda: bool(ledger.supervisors(live_only=True)), 60, 0.05, "the supervisor to register")
            for i in range(n):
                time.sleep(0.05 + (i % 7) * 0.031)  # idle again, and not in step with any poll
                task_id = ledger.submit(command_spec("wake", ["true"]))[1]["main"]
                wait_until(lambda t=task_id: ledger.get_task(t).status == "succeeded", 60, 0.005,
                           "the task to succeed")
                task = ledger.get_task(task_id)
                out.append(float(task.started_at - task.created_at))
    finally:
        stop_process(proc)
    return out


def _p50(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def wakeup_rows(quick: bool, runs: int) -> list[Row]:
    n = 10 if quick else 30
    rows = []
    kinds: list[tuple[str, Any]] = [("SQLite", None)]
    reason = pg_reason()
    kinds.append(("PostgreSQL", pg_schema if reason is None else None))
    for name, schema in kinds:
        figure = f"submit → running, idle supervisor, {name}: p50"
        if name == "PostgreSQL" and schema is None:
            rows.append(Row(SECTION, figure, "", None, skipped=reason or ""))
            continue
        values: list[float] = []
        for _ in range(runs):
            with scratch() as home:
                if schema is None:
                    values += submit_to_start(sqlite_url(home), home, n)
                else:
                    with schema() as url:
                        values += submit_to_start(url, home, n)
        p95 = sorted(values)[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        rows.append(Row(SECTION, figure, "ms", Stat([_p50(values)]), Stat([10.0]), "target",
                        note=f"p95 {p95:.0f} ms over {len(values)} submits (ledger timestamps, ms)"))
    return rows


def huey_rate(n: int, concurrency: int) -> dict[str, float]:
    """Tasks per second through huey's SQLite queue and a process worker pool."""
    with scratch() as home:
        db = str(home / "huey.db")
        os.environ["OPENCLAW_BENCH_HUEY_DB"] = db
        env = bench_env(home, OPENCLAW_BENCH_HUEY_DB=db)
        import importlib

        from . import huey_app

        huey_app = importlib.reload(huey_app)  # a queue on this run's file, as the consumer has
        proc = subprocess.Popen(
            [sys.executable, "-m", "huey.bin.huey_consumer", "bench.huey_app.huey", "-k", "process",
             "-w", str(concurrency), "-d", "0.1", "-m", "0.2", "-n", "-q", "-l", str(home / "huey.log")],
            env=env, cwd=str(Path(__file__).resolve().parent.parent), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            warm = huey_app.run_true()
            if warm.get(blocking=True, timeout=60) != 0:
                raise RuntimeError("huey's warm-up task did not run `true`")
            t0 = time.perf_counter()
            for _ in range(n):
                huey_app.run_true()
            t1 = wait_until(lambda: huey_app.huey.result_count() >= n, 600, 0.02, f"huey to run {n} tasks")
        finally:
            stop_process(proc)
            huey_app.huey.storage.close()
    return {"rate": n / (t1 - t0)}


def run(quick: bool, runs: int) -> list[Row]:
    n = 100 if quick else 1000
    rows = []
    for conc in (1, 2):
        floor = Stat([floor_rate(n, conc) for _ in range(runs)])
        ours = collect(runs, lambda _i, c=conc: ours_rate(n, c))
        try:
            import huey  # noqa: F401
        except ImportError:
            huey_stat = None
        else:
            huey_stat = collect(runs, lambda _i, c=conc: huey_rate(n, c))["rate"]
        figure = f"{n:,} × `true`, concurrency {conc}"
        if huey_stat is not None:
            rows.append(Row(SECTION, figure, "tasks/s", ours["rate"], huey_stat, "huey (SqliteHuey, process pool)"))
        else:
            rows.append(Row(SECTION, figure + " vs huey", "", None,
                            skipped="huey is not installed (pip install -e '.[bench]')"))
        rows.append(Row(SECTION, figure, "tasks/s", ours["rate"], floor, "floor: bare spawn loop"))
        rows.append(Row(SECTION, f"supervisor CPU per task, concurrency {conc}", "ms", ours["sup_cpu_ms"],
                        note="the supervise process alone, not the tasks"))
        rows.append(Row(SECTION, f"wrapper + command CPU per task, concurrency {conc}", "ms", ours["run_cpu_ms"],
                        note="forker, forked wrapper and `true` (`true` alone: ~1 ms)"))
    return rows + wakeup_rows(quick, runs)
