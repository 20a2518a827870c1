"""kill -9 the supervisor at any moment: the next one finds every task's true status and exit code.

Each task appends a line to its own count file when it starts, so "ran exactly once" is
checked on disk, not in the ledger. Tasks wait on a gate file, so nothing depends on timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from supervisor_support import runs, wait_for

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.paths import run_dir_of
from openclaw_board.settings import Settings
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.procs import alive, start_ticks
from openclaw_board.supervisor.rundir import child_identity

GATED = 'echo run >> "$0"; while [ ! -e "$1" ]; do sleep 0.05; done; echo "::summary done $2"; sleep "$2"; exit "$3"'


def gated(tmp: Path, label: str, secs: float, code: int, **extra) -> dict:
    return {"label": label, "command": ["sh", "-c", GATED, str(tmp / f"count-{label}"), str(tmp / f"gate-{label}"),
                                        str(secs), str(code)], **extra}


def supervise_process(url: str, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "openclaw_board", "--db", url, "supervise", "--concurrency", "5", "--quiet",
         "--kill-grace", "0.5s"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def start_and_kill(ledger: Ledger, home: Path, task_ids: list[str]) -> None:
    """A `supervise` process starts every task; then it dies by SIGKILL."""
    proc = supervise_process(ledger.url, home)
    try:
        wait_for(lambda: all(ledger.get_task(t).pid and child_identity(run_dir_of(ledger.get_task(t)))
                             for t in task_ids), "all tasks started")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def test_kill_9_then_a_new_supervisor_records_every_true_result(ledger: Ledger, home: Path, tmp_path: Path) -> None:
    plan = {"quick": (0, 0), "fails": (0.2, 3), "blocks": (0.4, 75), "slow": (0.8, 0), "slower": (1.2, 4)}
    flow_id, ids = ledger.submit(parse_spec({"goal": "five", "tasks": [
        gated(tmp_path, label, secs, code) for label, (secs, code) in plan.items()]}))
    start_and_kill(ledger, home, list(ids.values()))

    # The wrappers outlived the supervisor. One task ends while nobody watches...
    for tid in ids.values():
        t = ledger.get_task(tid)
        assert t.status == "running" and alive(t.pid, t.pid_start)
    (tmp_path / "gate-quick").touch()
    wait_for(lambda: (run_dir_of(ledger.get_task(ids["quick"])) / "exit").exists(), "quick ended unwatched")
    # ...the others end while the new supervisor watches them (re-attached, not its children).
    for label in plan:
        (tmp_path / f"gate-{label}").touch()
    Supervisor(ledger.url, concurrency=5, kill_grace_s=0.5, poll_interval_s=0.05).run(until_idle=True)

    expected = {"quick": ("succeeded", 0), "fails": ("failed", 3), "blocks": ("blocked", 75),
                "slow": ("succeeded", 0), "slower": ("failed", 4)}
    for label, (status, code) in expected.items():
        t = ledger.get_task(ids[label])
        assert (label, t.status, t.exit_code) == (label, status, code)
        assert t.terminal_summary == f"done {plan[label][0]:g}"
        assert runs(tmp_path, label) == 1, label
        assert "adopted" in [e.kind for e in ledger.task_events(t.task_id)]
    assert len(ledger.attempts_of(ledger.get_task(ids["quick"]))) == 1
    assert "lost" not in {t.status for t in ledger.flow_attempts(flow_id)}


def test_a_run_killed_while_no_supervisor_runs_and_only_it_is_lost(ledger: Ledger, home: Path, tmp_path: Path) -> None:
    flow_id, ids = ledger.submit(parse_spec({"goal": "three", "tasks": [
        gated(tmp_path, "victim", 0, 0, retries=1, retry_backoff="100ms"),
        gated(tmp_path, "commandonly", 0, 0),
        gated(tmp_path, "healthy", 0.3, 0),
    ]}))
    start_and_kill(ledger, home, list(ids.values()))

    # The victim vanishes whole (its wrapper and its command): no result anywhere.
    victim = ledger.get_task(ids["victim"])
    command = child_identity(run_dir_of(victim))
    os.kill(victim.pid, signal.SIGKILL)
    os.killpg(command[0], signal.SIGKILL)
    # Of the other, only the command dies: its wrapper records that truthfully.
    other = child_identity(run_dir_of(ledger.get_task(ids["commandonly"])))
    os.killpg(other[0], signal.SIGKILL)
    wait_for(lambda: start_ticks(victim.pid) is None and start_ticks(command[0]) is None, "victim gone")
    for label in ids:
        (tmp_path / f"gate-{label}").touch()
    Supervisor(ledger.url, concurrency=5, kill_grace_s=0.5, poll_interval_s=0.05).run(until_idle=True)

    first, second = ledger.attempts_of(ledger.get_task(ids["victim"]))
    assert (first.status, first.exit_code, first.error) == ("lost", None, "process vanished with no recorded result")
    assert (second.status, second.exit_code, second.attempt) == ("succeeded", 0, 2)  # retried: its spec allows
    assert runs(tmp_path, "victim") == 2
    t = ledger.get_task(ids["commandonly"])
    assert (t.status, t.exit_code, t.error) == ("failed", None, "killed by SIGKILL")
    t = ledger.get_task(ids["healthy"])
    assert (t.status, t.exit_code) == ("succeeded", 0)
    assert runs(tmp_path, "commandonly") == runs(tmp_path, "healthy") == 1
    assert [t.status for t in ledger.flow_attempts(flow_id)].count("lost") == 1


def test_claimed_but_never_started_is_lost_and_retried(ledger: Ledger, tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = Settings.load().host  # the host a Supervisor given none records
    ghost = ledger.register_supervisor(host, dead.pid, 1, concurrency=1)  # fresh heartbeat, dead process
    _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
        gated(tmp_path, "t", 0, 0, retries=1, retry_backoff="50ms")]}))
    (tmp_path / "gate-t").touch()
    claimed = ledger.claim_next(ghost.supervisor_id, host).task
    assert claimed.task_id == ids["t"]
    Supervisor(ledger.url, concurrency=1, poll_interval_s=0.05).run(until_idle=True)
    first, second = ledger.attempts_of(ledger.get_task(ids["t"]))
    assert (first.status, first.error) == ("lost", "process vanished with no recorded result")
    assert second.status == "succeeded" and runs(tmp_path, "t") == 1
    assert ledger.m.Supervisor.get_by_id(ghost.supervisor_id).stopped_at is not None


def test_a_live_supervisor_keeps_its_runs(ledger: Ledger, tmp_path: Path) -> None:
    """A second supervisor on the same host never takes over (or loses) a live one's runs."""
    _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [gated(tmp_path, "t", 0, 0)]}))
    first = Supervisor(ledger.url, concurrency=1, poll_interval_s=0.05)
    thread = first.start_thread()
    try:
        wait_for(lambda: ledger.get_task(ids["t"]).pid, "started")
        second = Supervisor(ledger.url, concurrency=1, poll_interval_s=0.05)
        second_thread = second.start_thread()
        wait_for(second.ready.is_set, "second ready")
        second.request_stop()
        second_thread.join(30)
        t = ledger.get_task(ids["t"])
        assert (t.status, t.supervisor_id) == ("running", first.supervisor_id)
        (tmp_path / "gate-t").touch()
        wait_for(lambda: ledger.get_task(ids["t"]).status == "succeeded", "finished by its owner")
    finally:
        first.request_stop()
        thread.join(30)
    assert "adopted" not in [e.kind for e in ledger.task_events(ids["t"])]
