"""Cancel: from an operator's cancel to the task recorded `cancelled`, and the wrapper's part of it.

The command is the one of issue 11, `sh -c "sleep 120 & sleep 121; wait"` (a background
grandchild in the group), writing the pids of its shell and its background sleep first so
that we can check, by pid, that both are gone afterwards.

- end to end: a `supervise` process on a fresh ledger (SQLite; PostgreSQL too when it
  answers) runs the task; once its command wrote its pids we cancel it through the Ledger
  API. The figure is the ledger's own timestamps: the `cancel_requested` event to the
  `finished` event. It includes how soon the supervisor notices the request (the ledger
  file's change on SQLite, NOTIFY on PostgreSQL), the wrapper stopping the group, and recording the result.
- the wrapper alone: the wrapper started the way the supervisor starts it, SIGTERM (what
  the supervisor sends on a cancel) once the command runs, until the wrapper has exited
  with its `exit` file written. No ledger, no supervisor.

p50 and p95 are over every cancel of every run; the target is issue 14's (p50 <= 100 ms).
"""

from __future__ import annotations

import marshal
import os
import signal
import subprocess
import time
from pathlib import Path

from .common import Row, Stat, bench_env, cli, pg_reason, pg_schema, scratch, sqlite_url, stop_process, wait_until

SECTION = "cancel"
COMMAND = 'sleep 120 & echo "$$ $!" > "$0"; sleep 121; wait'
TARGET_P50_MS = 100.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _gone(pid: int) -> bool:
    """True once `pid` is not a live process (a zombie has ended: it only waits for its reaper)."""
    from openclaw_board.supervisor.procs import start_ticks

    return start_ticks(pid) is None


def _pids(path: Path) -> list[int] | None:
    try:
        words = path.read_text().split()
    except OSError:
        return None
    return [int(w) for w in words] if len(words) == 2 else None


def end_to_end(url: str, home: Path, n: int) -> list[float]:
    """ms from `cancel_requested` to `finished` (ledger events) for n cancels, one at a time."""
    from openclaw_board.ledger import Ledger, command_spec

    env = bench_env(home)
    proc = subprocess.Popen(cli("--db", url, "supervise", "--concurrency", "2", "--quiet"), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: list[float] = []
    try:
        with Ledger(url) as ledger:
            Event = ledger.m.Event
            wait_until(lambda: bool(ledger.supervisors(live_only=True)), 60, 0.05, "the supervisor to register")
            for i in range(n):
                pidfile = home / f"pids-{i}"
                task_id = ledger.submit(command_spec("cancel", ["sh", "-c", COMMAND, str(pidfile)]))[1]["main"]
                wait_until(lambda p=pidfile: _pids(p) is not None, 60, 0.01, "the command to start")
                time.sleep(0.05 + (i % 5) * 0.037)  # not in step with the supervisor's poll
                ledger.cancel_task(task_id, actor="bench")
                wait_until(lambda t=task_id: ledger.get_task(t).status == "cancelled", 60, 0.01,
                           "the task to be cancelled")
                at = {e.kind: e.at for e in Event.select().where(Event.task_id == task_id)}
                out.append(float(at["finished"] - at["cancel_requested"]))
                for pid in _pids(pidfile) or []:
                    wait_until(lambda p=pid: _gone(p), 30, 0.01, f"pid {pid} of the cancelled task to be gone")
    finally:
        stop_process(proc)
    return out


def wrapper_alone(root: Path, n: int) -> list[float]:
    """ms from SIGTERM to the wrapper's exit (its `exit` file written), for n runs."""
    from openclaw_board.supervisor.rundir import start_wrapper

    out: list[float] = []
    for i in range(n):
        run_dir = root / f"w{i}"
        run_dir.mkdir(mode=0o700)
        pidfile = root / f"wpids-{i}"
        (run_dir / "spec").write_bytes(marshal.dumps(
            {"command": ["sh", "-c", COMMAND, str(pidfile)], "shell": False, "kill_grace_s": 5.0}))
        wrapper = start_wrapper(run_dir, dict(os.environ))
        try:
            wait_until(lambda p=pidfile: _pids(p) is not None, 60, 0.005, "the command to start")
            time.sleep(0.02)
            t0 = time.perf_counter()
            wrapper.send_signal(signal.SIGTERM)
            wrapper.wait(60)
            out.append((time.perf_counter() - t0) * 1000)
            if not (run_dir / "exit").exists():
                raise RuntimeError("the wrapper exited without its exit file")
            for pid in _pids(pidfile) or []:
                wait_until(lambda p=pid: _gone(p), 30, 0.01, f"pid {pid} of the stopped command to be gone")
        finally:
            if wrapper.poll() is None:
                wrapper.kill()
                wrapper.wait(30)
    return out


def _rows(figure: str, values: list[float], note: str = "") -> list[Row]:
    p95 = _pct(values, 0.95)
    text = f"p95 {p95:.0f} ms over {len(values)} cancels" + (f"; {note}" if note else "")
    return [Row(SECTION, f"{figure} p50", "ms", Stat([_pct(values, 0.5)]), Stat([TARGET_P50_MS]), "target",
                note=text)]


def run(quick: bool, runs: int) -> list[Row]:
    n = 5 if quick else 20
    rows: list[Row] = []
    alone: list[float] = []
    sqlite: list[float] = []
    for _ in range(runs):
        with scratch() as home:
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            alone += wrapper_alone(home, n)
        with scratch() as home:
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            sqlite += end_to_end(sqlite_url(home), home, n)
    rows += _rows("wrapper alone: SIGTERM → exit recorded", alone)
    rows += _rows("cancel → cancelled, SQLite", sqlite, "the supervisor wakes on the ledger file's change")
    reason = pg_reason()
    if reason:
        rows.append(Row(SECTION, "cancel → cancelled, PostgreSQL", "", None, skipped=reason))
        return rows
    pg: list[float] = []
    for _ in range(runs):
        with scratch() as home, pg_schema() as url:
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            pg += end_to_end(url, home, n)
    rows += _rows("cancel → cancelled, PostgreSQL", pg, "the supervisor wakes on NOTIFY")
    return rows
