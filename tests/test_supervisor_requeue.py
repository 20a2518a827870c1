"""kill -9 of the supervisor between a claim and the start of its command: nothing
started, so the task goes back to the queue, same attempt, with an event saying so; and it
is never put back when its command may have started.

The supervisor stops itself (SIGSTOP) at an exact point of starting a task when the
test-only OPENCLAW_BOARD_TEST_PAUSE_AT names it (supervisor/testhooks.py); the test then
kills it with a real SIGKILL there. Each command appends a line to its own count file when it
starts, so "ran exactly once" is checked on disk, not in the ledger.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from supervisor_support import runs, wait_for

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.supervisor import Supervisor

COUNTED = 'echo run >> "$0"'


def counted(tmp: Path, label: str, **extra) -> dict:
    return {"label": label, "command": ["sh", "-c", COUNTED, str(tmp / f"count-{label}")], **extra}


def state_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return None


def supervise(url: str, home: Path, *, pause_at: str | None = None, lease: str = "15s",
              concurrency: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home)}
    if pause_at:
        env["OPENCLAW_BOARD_TEST_PAUSE_AT"] = pause_at
    return subprocess.Popen(
        [sys.executable, "-m", "openclaw_board", "--db", url, "supervise", "--concurrency", str(concurrency),
         "--quiet", "--lease", lease], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def stopped_at(url: str, home: Path, point: str, **kw) -> subprocess.Popen[bytes]:
    """A `supervise` process that claimed a task and stopped itself at `point`."""
    proc = supervise(url, home, pause_at=point, **kw)
    wait_for(lambda: state_of(proc.pid) == "T" or proc.poll() is not None, f"the supervisor stops at {point}")
    assert proc.poll() is None, "the supervisor exited instead of stopping"
    return proc


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def run_idle(url: str) -> None:
    assert Supervisor(url, concurrency=2, poll_interval_s=0.05).run(until_idle=True) == 0


def requeued(ledger: Ledger, task_id: str) -> list:
    return [e for e in ledger.task_events(task_id) if e.kind == "requeued"]


def test_killed_right_after_its_claim_the_task_is_requeued_not_lost(ledger: Ledger, home: Path,
                                                                     tmp_path: Path) -> None:
    flow_id, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [counted(tmp_path, "t")]}))
    proc = stopped_at(ledger.url, home, "claimed")
    claimed = ledger.get_task(ids["t"])
    assert (claimed.status, claimed.pid, claimed.run_dir) == ("running", None, str(home / "runs" / ids["t"]))
    dead = claimed.supervisor_id
    kill_9(proc)

    run_idle(ledger.url)
    task = ledger.get_task(ids["t"])
    assert (task.status, task.attempt, task.exit_code) == ("succeeded", 1, 0)
    assert len(ledger.flow_attempts(flow_id)) == 1 and runs(tmp_path, "t") == 1
    events = [e.kind for e in ledger.task_events(ids["t"])]
    assert "lost" not in events and events.count("claimed") == 2
    (ev,) = requeued(ledger, ids["t"])
    assert (ev.from_status, ev.to_status) == ("running", "queued")
    assert ev.detail.startswith(f"claimed by supervisor {dead[:8]} (pid {proc.pid} on ")
    assert ev.detail.endswith("which died before starting it (no wrapper was ever started): back in the queue, "
                              "nothing ran")
    assert task.run_dir == str(home / "runs" / ids["t"])  # its name served again: nothing could use it


def test_killed_after_writing_the_spec_but_before_starting_a_wrapper_the_task_is_requeued(
        sqlite_url: str, home: Path, tmp_path: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [counted(tmp_path, "t")]}))
        kill_9(stopped_at(sqlite_url, home, "spec_written"))
        old = home / "runs" / ids["t"]
        assert (old / "spec").exists() and not (old / "exit.reserve").exists()
        run_idle(sqlite_url)
        task = ledger.get_task(ids["t"])
        assert (task.status, task.attempt, runs(tmp_path, "t")) == ("succeeded", 1, 1)
        (ev,) = requeued(ledger, ids["t"])
        assert "which died before starting it (no wrapper was ever started)" in ev.detail


def test_killed_after_reserving_the_exit_file_its_forker_request_is_refused_and_the_task_requeued(
        sqlite_url: str, home: Path, tmp_path: Path) -> None:
    """Its forker may still fork for a dead supervisor (a request on its way): recovery takes
    `wrapper.err`, which the forker must make first, so the task goes back and runs once."""
    with Ledger(sqlite_url) as ledger:
        _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [counted(tmp_path, "t")]}))
        kill_9(stopped_at(sqlite_url, home, "exit_reserved"))
        old = home / "runs" / ids["t"]
        assert (old / "exit.reserve").exists() and not (old / "wrapper.err").exists()
        run_idle(sqlite_url)
        task = ledger.get_task(ids["t"])
        assert (task.status, task.attempt, runs(tmp_path, "t")) == ("succeeded", 1, 1)
        (ev,) = requeued(ledger, ids["t"])
        assert "which died before its wrapper was forked" in ev.detail
        assert (old / "wrapper.err").is_dir()  # what recovery took
        assert task.run_dir == f"{old}.{task.started_at}"


def test_killed_after_the_wrapper_started_the_run_is_reattached_never_requeued(
        sqlite_url: str, home: Path, tmp_path: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [counted(tmp_path, "t")]}))
        kill_9(stopped_at(sqlite_url, home, "wrapper_started"))
        assert ledger.get_task(ids["t"]).pid is None  # started, but not recorded
        run_idle(sqlite_url)
        task = ledger.get_task(ids["t"])
        assert (task.status, task.attempt, task.exit_code, runs(tmp_path, "t")) == ("succeeded", 1, 0, 1)
        assert requeued(ledger, ids["t"]) == []
        assert "adopted" in [e.kind for e in ledger.task_events(ids["t"])]


@pytest.mark.slow  # ~8 s each: a lease has to run out
@pytest.mark.parametrize(("point", "taken", "refusal"), [
    ("claimed", "", "[Errno 17] File exists"),  # its run directory
    ("spec_written", "/exit.reserve", "[Errno 21] Is a directory"),  # the room for its exit file
    ("exit_reserved", "/wrapper.err", "cannot fork a wrapper: wrapper.err: File exists"),  # its forker refuses
])
def test_a_claimant_stalled_past_its_lease_is_fenced_off_and_its_task_requeued(
        sqlite_url: str, home: Path, tmp_path: Path, point: str, taken: str, refusal: str) -> None:
    with Ledger(sqlite_url) as ledger:
        _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [counted(tmp_path, "t")]}))
        stalled = stopped_at(sqlite_url, home, point, lease="2s")
        old = home / "runs" / ids["t"]
        try:
            other = Supervisor(sqlite_url, concurrency=1, poll_interval_s=0.05)
            thread = other.start_thread()
            wait_for(lambda: ledger.get_task(ids["t"]).status == "succeeded", "the task runs elsewhere", 60)
            other.request_stop()
            thread.join(30)
            task = ledger.get_task(ids["t"])
            (ev,) = requeued(ledger, ids["t"])
            assert "which stalled past its lease before starting it (its next step was taken" in ev.detail
            assert Path(f"{old}{taken}").is_dir()  # what we took
            assert task.run_dir == f"{old}.{task.started_at}"  # the new claim's own directory
            # It wakes up: its run directory is taken, so it starts nothing.
            stalled.send_signal(signal.SIGCONT)
            wait_for(lambda: "write refused" in (home / "supervisor.log").read_text(),
                     "the stalled supervisor finds its run directory taken, and the claim not its own")
            log = (home / "supervisor.log").read_text()
            assert f"cannot start its wrapper: {refusal}" in log and "ledger error" not in log
        finally:
            stalled.send_signal(signal.SIGCONT)
            stalled.terminate()
            stalled.wait(30)
        assert ledger.get_task(ids["t"]).status == "succeeded" and task.attempt == 1
        assert runs(tmp_path, "t") == 1


@pytest.mark.slow  # ~40 s: a dozen kills under load
def test_fast_kill_9s_lose_nothing_and_run_everything_once(sqlite_url: str, home: Path, tmp_path: Path) -> None:
    """Many kills while claiming, smaller than a soak: supervisors killed -9 every 0.4-1.2 s while they work."""
    labels = [f"t{i:02d}" for i in range(30)]
    slow = 'echo run >> "$0"; sleep 0.3'
    with Ledger(sqlite_url) as ledger:
        flow_id, _ = ledger.submit(parse_spec({"goal": "g", "tasks": [
            {"label": label, "command": ["sh", "-c", slow, str(tmp_path / f"count-{label}")]} for label in labels]}))
        rng = random.Random(11)
        for _ in range(12):
            before = len(ledger.supervisors())
            proc = supervise(sqlite_url, home, concurrency=4)
            wait_for(lambda: len(ledger.supervisors()) > before or proc.poll() is not None, "it registers")  # noqa: B023
            stop = threading.Event()
            stop.wait(rng.uniform(0.4, 1.2))
            kill_9(proc)
        run_idle(sqlite_url)
        attempts = ledger.flow_attempts(flow_id)
        assert {(t.status, t.attempt) for t in attempts} == {("succeeded", 1)}, [
            (t.label, t.status, t.error) for t in attempts if t.status != "succeeded"]
        assert {label: runs(tmp_path, label) for label in labels} == dict.fromkeys(labels, 1)
