"""Only the wrapper dies (kill -9), the command lives on: whoever watches it does what the wrapper
would have. Its timeout still holds (a 3 s timeout once ran 25 s), a cancel still
stops it, and the ledger records what happened: timed_out, cancelled, or lost when it ended
by itself (its exit code went with the wrapper). Real process trees, checked by pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from supervisor_support import one, pid_in, supervisor_thread, wait_for

from openclaw_board.ledger import Ledger
from openclaw_board.paths import run_dir_of
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.procs import start_ticks

# A shell with a background grandchild, both in the command's group; their pids on disk.
FAMILY = 'sleep 60 & echo $! > "$0/grandchild"; echo $$ > "$0/child"; wait'


def kill_wrapper(ledger: Ledger, task_id: str) -> None:
    task = wait_for(lambda: (t := ledger.get_task(task_id)).pid and t, "the wrapper's pid recorded")
    os.kill(task.pid, signal.SIGKILL)


def family_gone(where: Path) -> None:
    for name in ("child", "grandchild"):
        pid = int((where / name).read_text())
        wait_for(lambda pid=pid: start_ticks(pid) is None, f"{name} {pid} gone")


def test_the_timeout_holds_when_only_the_wrapper_is_killed(ledger: Ledger, tmp_path: Path) -> None:
    task_id = one(ledger, {"command": ["sh", "-c", FAMILY, str(tmp_path)], "timeout": "2s"})
    sup, thread = supervisor_thread(ledger.url, concurrency=2)
    try:
        pid_in(tmp_path / "grandchild")
        kill_wrapper(ledger, task_id)
        thread.join(40)  # the command sleeps 60 s: only the enforced timeout ends it sooner
        assert not thread.is_alive()
    finally:
        sup.request_stop()
        thread.join(30)
    t = ledger.get_task(task_id)
    assert (t.status, t.exit_code) == ("timed_out", None), (t.status, t.error)
    assert t.error == "timed out after 2s (its wrapper had died; the supervisor stopped it)"
    family_gone(tmp_path)


def test_a_cancel_still_stops_an_orphaned_command(ledger: Ledger, tmp_path: Path) -> None:
    task_id = one(ledger, {"command": ["sh", "-c", "trap '' TERM; " + FAMILY, str(tmp_path)]})  # deaf to TERM
    sup, thread = supervisor_thread(ledger.url, concurrency=2)
    try:
        pid_in(tmp_path / "grandchild")
        kill_wrapper(ledger, task_id)
        wait_for(lambda: "lives on" in (sup.state / "supervisor.log").read_text(), "the orphan noticed")
        ledger.cancel_task(task_id, actor="test")
        thread.join(40)
        assert not thread.is_alive()
    finally:
        sup.request_stop()
        thread.join(30)
    t = ledger.get_task(task_id)
    assert (t.status, t.error) == ("cancelled", "cancelled by operator")  # it was `lost`
    family_gone(tmp_path)  # SIGKILL after the grace: TERM was ignored


def test_an_orphan_that_ends_by_itself_is_lost_not_stopped(ledger: Ledger, tmp_path: Path) -> None:
    task_id = one(ledger, {"command": ["sh", "-c", 'echo $$ > "$0/child"; while [ ! -e "$0/go" ]; do sleep 0.05; done',
                                       str(tmp_path)], "timeout": "10m"})
    sup, thread = supervisor_thread(ledger.url, concurrency=2)
    try:
        pid_in(tmp_path / "child")
        kill_wrapper(ledger, task_id)
        wait_for(lambda: "lives on" in (sup.state / "supervisor.log").read_text(), "the orphan noticed")
        (tmp_path / "go").touch()
        thread.join(40)
    finally:
        sup.request_stop()
        thread.join(30)
    t = ledger.get_task(task_id)
    assert (t.status, t.error) == ("lost", "its wrapper died; the command ended with no recorded result")


def test_a_new_supervisor_enforces_a_timeout_that_passed_while_nobody_watched(
        ledger: Ledger, home: Path, tmp_path: Path) -> None:
    """The supervisor and the wrapper both die; the command outlives its timeout; the next
    supervisor re-attaches and stops it at once. Without its `child` file (the wrapper was
    killed before writing it, or the disk was full), found in the wrapper's session."""
    task_id = one(ledger, {"command": ["sh", "-c", FAMILY, str(tmp_path)], "timeout": "1s"})
    proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "--db", ledger.url, "supervise", "--quiet",
                             "--kill-grace", "0.5s"], env={**os.environ, "OPENCLAW_BOARD_HOME": str(home)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid_in(tmp_path / "grandchild")
        t = wait_for(lambda: (x := ledger.get_task(task_id)).pid and x, "its wrapper recorded")
    finally:
        proc.kill()
        proc.wait(30)
    os.kill(t.pid, signal.SIGKILL)
    (run_dir_of(t) / "child").unlink()
    wait_for(lambda: start_ticks(t.pid) is None, "the wrapper gone")
    child = int((tmp_path / "child").read_text())
    wait_for(lambda: (start_ticks(child) or 0) and _age_s(child) > 1.5, "the command past its timeout")
    assert start_ticks(child) is not None  # nobody stopped it meanwhile

    Supervisor(ledger.url, concurrency=1, kill_grace_s=0.5, poll_interval_s=0.05).run(until_idle=True)
    t = ledger.get_task(task_id)
    assert (t.status, t.error) == ("timed_out", "timed out after 1s (its wrapper had died; the supervisor stopped it)")
    family_gone(tmp_path)


def _age_s(pid: int) -> float:
    from openclaw_board.supervisor.procs import age_s

    return age_s(start_ticks(pid) or 0) or 0.0
