"""Recovery: from a supervisor restart to every detached run re-attached (or settled).

A `supervise --concurrency 50` process starts 50 tasks that sleep; once all 50 have their
process recorded it is killed with SIGKILL (its runs keep going, detached). The clock starts
when a new `supervise` process is spawned and stops when the ledger has an `adopted` event
(or a terminal status) for every one of the 50. The floor is the same new process's
startup alone: spawn until its supervisor row is registered.

Afterwards the runs are cancelled through the ledger (the new supervisor stops them), and any
run still alive is killed by its recorded process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from .common import Row, Stat, bench_env, cli, scratch, sqlite_url, stop_process, wait_until

SECTION = "recovery"
TERMINAL = ("succeeded", "failed", "timed_out", "cancelled", "lost", "blocked")


def once(runs_in_flight: int) -> dict[str, float]:
    from openclaw_board.ledger import Ledger, command_spec

    with scratch() as home:
        url = sqlite_url(home)
        env = bench_env(home)
        os.environ["OPENCLAW_BOARD_HOME"] = str(home)
        supervise = cli("--db", url, "supervise", "--concurrency", str(runs_in_flight), "--quiet")
        with Ledger(url) as ledger:
            Task, Event, S = ledger.m.Task, ledger.m.Event, ledger.m.Supervisor
            ids = [ledger.submit(command_spec("recovery", ["sleep", "120"]))[1]["main"]
                   for _ in range(runs_in_flight)]
            first = subprocess.Popen(supervise, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            second = None
            try:
                wait_until(lambda: Task.select().where(Task.task_id.in_(ids) & Task.pid.is_null(False)).count()
                           == runs_in_flight, 120, 0.1, f"{runs_in_flight} runs to start")
                first.kill()
                first.wait(30)
                mark = Event.select().order_by(Event.id.desc()).first().id
                t0 = time.perf_counter()
                second = subprocess.Popen(supervise, env=env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

                def registered() -> bool:
                    return S.select().where(S.pid == second.pid).exists()

                def settled() -> bool:
                    adopted = {e.task_id for e in Event.select(Event.task_id).where(
                        (Event.id > mark) & (Event.kind == "adopted"))}
                    ended = {t.task_id for t in Task.select(Task.task_id).where(
                        Task.task_id.in_(ids) & Task.status.in_(TERMINAL))}
                    return len((adopted | ended) & set(ids)) == runs_in_flight

                t_reg = wait_until(registered, 60, 0.005, "the new supervisor to register")
                t_all = wait_until(settled, 120, 0.01, "every run to be re-attached")
                lost = Task.select().where(Task.task_id.in_(ids) & (Task.status == "lost")).count()
            finally:
                _clean_up(ledger, ids, second)
                for proc in (first, second):
                    if proc is not None:
                        stop_process(proc)
    return {"adopt_s": t_all - t0, "startup_s": t_reg - t0, "lost": float(lost)}


def _clean_up(ledger: object, ids: list[str], sup: subprocess.Popen[bytes] | None) -> None:
    """Cancel the sleeping runs through the ledger; kill what is left by process group."""
    for task_id in ids:
        with contextlib.suppress(Exception):
            ledger.cancel_task(task_id)  # type: ignore[attr-defined]
    Task = ledger.m.Task  # type: ignore[attr-defined]
    if sup is not None and sup.poll() is None:
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not Task.select().where(Task.task_id.in_(ids) & (Task.status == "running")).exists(),
                       30, 0.1, "the runs to be cancelled")
    for task in Task.select(Task.pid).where(Task.task_id.in_(ids) & Task.pid.is_null(False)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(task.pid, signal.SIGKILL)  # each run is its own session (start_new_session)


def run(quick: bool, runs: int) -> list[Row]:
    n = 50
    results = [once(n) for _ in range(runs)]
    note = f"{int(max(r['lost'] for r in results))} marked lost"
    return [Row(SECTION, f"restart → all {n} detached runs re-attached", "s", Stat([r["adopt_s"] for r in results]),
                Stat([r["startup_s"] for r in results]), "floor: the new supervisor's startup alone", note=note)]
