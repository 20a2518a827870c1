"""Timeouts, cancels and stopping the supervisor: whole process groups, grandchildren included."""

from __future__ import annotations

from pathlib import Path

from supervisor_support import one, pid_in, supervisor_thread, wait_for

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.procs import alive, start_ticks

FAMILY = "sleep 60 & echo $! > \"$0/grandchild\"; echo $$ > \"$0/child\"; wait"


def test_timeout_stops_the_group_and_records_timed_out(ledger: Ledger, tmp_path: Path) -> None:
    stubborn = tmp_path / "stubborn"
    stubborn.mkdir()
    plain = one(ledger, {"command": ["sh", "-c", FAMILY, str(tmp_path)], "timeout": "700ms"})
    # Ignores SIGTERM (and so does its sleep, which inherits the ignore): only SIGKILL ends it.
    deaf = one(ledger, {"command": ["sh", "-c", "trap '' TERM; " + FAMILY, str(stubborn)], "timeout": "700ms"})
    Supervisor(ledger.url, concurrency=2, kill_grace_s=0.5, poll_interval_s=0.05).run(until_idle=True)
    for task_id, where in ((plain, tmp_path), (deaf, stubborn)):
        t = ledger.get_task(task_id)
        assert (t.status, t.exit_code, t.error) == ("timed_out", None, "timed out after 0.7s")
        for name in ("child", "grandchild"):
            pid = int((where / name).read_text())
            wait_for(lambda pid=pid: start_ticks(pid) is None, f"{name} {pid} gone")


def test_cancel_of_a_running_task_kills_child_and_grandchild(ledger: Ledger, tmp_path: Path) -> None:
    task_id = one(ledger, {"command": ["sh", "-c", FAMILY, str(tmp_path)]})
    sup, thread = supervisor_thread(ledger.url, concurrency=1)
    try:
        child, grandchild = pid_in(tmp_path / "child"), pid_in(tmp_path / "grandchild")
        assert start_ticks(child) and start_ticks(grandchild)
        ledger.cancel_task(task_id, actor="test")
        thread.join(30)
    finally:
        sup.request_stop()
        thread.join(30)
    t = ledger.get_task(task_id)
    assert (t.status, t.error) == ("cancelled", "cancelled by operator")
    wait_for(lambda: start_ticks(child) is None and start_ticks(grandchild) is None, "both gone")
    assert not alive(t.pid, t.pid_start)  # the wrapper is gone too, after writing the result


def test_flow_cancel_stops_running_and_starts_nothing_new(ledger: Ledger, tmp_path: Path) -> None:
    spec = parse_spec({"goal": "g", "tasks": [
        {"label": "a", "command": ["sh", "-c", FAMILY, str(tmp_path)]},
        {"label": "b", "command": ["sh", "-c", "touch \"$0\"", str(tmp_path / "b-ran")], "after": ["a"]},
    ]})
    flow_id, ids = ledger.submit(spec)
    sup, thread = supervisor_thread(ledger.url, concurrency=2)
    try:
        pid_in(tmp_path / "grandchild")
        ledger.cancel_flow(flow_id, actor="test")
        thread.join(30)
    finally:
        sup.request_stop()
        thread.join(30)
    assert ledger.get_task(ids["a"]).status == "cancelled"
    assert ledger.get_task(ids["b"]).status == "cancelled"
    assert ledger.get_flow(flow_id).status == "cancelled"
    assert not (tmp_path / "b-ran").exists()


def test_stopping_the_supervisor_leaves_the_task_running_detached(ledger: Ledger, tmp_path: Path) -> None:
    release = tmp_path / "release"
    task_id = one(ledger, {"command": ["sh", "-c", "echo $$ > \"$0/child\"; while [ ! -e \"$0/release\" ]; "
                                       "do sleep 0.05; done; exit 4", str(tmp_path)]})
    sup, thread = supervisor_thread(ledger.url, concurrency=1)
    child = pid_in(tmp_path / "child")
    wait_for(lambda: sup.running_count() == 1, "watching it")
    sup.request_stop()
    thread.join(30)
    assert sup.detached == 1
    t = ledger.get_task(task_id)
    assert t.status == "running" and alive(t.pid, t.pid_start) and start_ticks(child)
    release.touch()
    # The next supervisor re-attaches (it is not its child) and records the real exit code.
    Supervisor(ledger.url, concurrency=1, poll_interval_s=0.05).run(until_idle=True)
    t = ledger.get_task(task_id)
    assert (t.status, t.exit_code) == ("failed", 4)
    assert [e.kind for e in ledger.task_events(task_id)].count("adopted") == 1


def test_cancel_right_after_the_claim_is_cancelled_not_lost(sqlite_url: str, tmp_path: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        ids = [one(ledger, {"command": ["sleep", "30"]}) for _ in range(3)]
        sup, thread = supervisor_thread(sqlite_url, concurrency=3)
        try:
            for task_id in ids:
                wait_for(lambda t=task_id: ledger.get_task(t).status == "running", "claimed")
                ledger.cancel_task(task_id, actor="test")
            thread.join(30)
        finally:
            sup.request_stop()
            thread.join(30)
        for task_id in ids:
            t = ledger.get_task(task_id)
            assert t.status == "cancelled", (t.status, t.error)
