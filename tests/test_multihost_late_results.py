"""A supervisor stopped (SIGSTOP) past its lease while its runs go on: a run whose
exit code is on disk is not lost, and a result that arrives after the run was declared lost
is recorded, not thrown away; the retry it made needless does not run.

Hosts are simulated on one machine (OPENCLAW_BOARD_HOST) and share one state directory, so
the judging host can see the stopped host's run directories, as it would on shared storage.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from multihost_support import start_supervisor, stop, wait_for

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.supervisor import Supervisor

LEASE_MS = 3000
OPTS = {"lease_ms": LEASE_MS, "lease_check_s": 0.3}
GATED = 'echo "start $1" >> "$0"; while [ ! -e "$2" ]; do sleep 0.05; done; echo "::summary did $1"'


def gated(tmp: Path, label: str, **extra) -> dict:
    return {"label": label, "command": ["sh", "-c", GATED, str(tmp / "ran"), label, str(tmp / f"gate-{label}")],
            **extra}


def started(tmp: Path, label: str) -> int:
    ran = tmp / "ran"
    return ran.read_text().splitlines().count(f"start {label}") if ran.exists() else 0


def exit_file(task) -> Path:  # noqa: ANN001 - a task row
    return Path(task.run_dir) / "exit"


def has_child(task) -> bool:  # noqa: ANN001 - a task row
    return bool(task.run_dir) and (Path(task.run_dir) / "child").exists()


@pytest.mark.slow  # ~8 s: a lease has to run out
def test_runs_that_finished_while_their_supervisor_was_stopped_are_not_lost(
        pg_url: str, home: Path, tmp_path: Path) -> None:
    labels = ("a", "b")
    spec = {"goal": "stopped", "tasks": [gated(tmp_path, x, retries=1, retry_backoff="0s") for x in labels]}
    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec(spec))
        bravo = start_supervisor(pg_url, "bravo", home, concurrency=2, **OPTS)
        alpha = None
        try:
            wait_for("bravo runs both", lambda: all(has_child(ledger.get_task(ids[x])) for x in labels))
            os.kill(bravo.pid, signal.SIGSTOP)
            for x in labels:
                (tmp_path / f"gate-{x}").touch()
            wait_for("both exit, unwatched", lambda: all(exit_file(ledger.get_task(ids[x])).exists() for x in labels))
            alpha = start_supervisor(pg_url, "alpha", home, concurrency=2, **OPTS)  # judges bravo's lease
            wait_for("the flow ends", lambda: ledger.get_flow(flow_id).status == "succeeded")
            os.kill(bravo.pid, signal.SIGCONT)
            wait_for("bravo, fenced, sees its runs were recorded", lambda: len(
                [s for s in ledger.supervisors() if s.host == "bravo"]) == 2)
        finally:
            os.kill(bravo.pid, signal.SIGCONT)
            journals = [stop(p) for p in (bravo, alpha) if p is not None]
        alpha_id = next(s.supervisor_id for s in ledger.supervisors() if s.host == "alpha")
        for x in labels:
            task = ledger.get_task(ids[x])
            assert (task.status, task.exit_code, task.attempt, task.terminal_summary) == (
                "succeeded", 0, 1, f"did {x}"), journals
            assert len(ledger.attempts_of(task)) == 1 and started(tmp_path, x) == 1
            (done,) = [e for e in ledger.task_events(ids[x]) if e.kind == "finished"]
            assert done.actor == f"supervisor:{alpha_id[:8]}"
            assert done.detail.startswith("exit 0; result read from its exit file: owner supervisor")
        said = " ".join(journals[0].split())
        assert "settled elsewhere (succeeded) while we were fenced; its run had ended" in said, journals[0]
        assert "killed our run" not in said


@pytest.mark.slow  # ~10 s: a lease has to run out
def test_a_result_that_arrives_after_the_run_was_declared_lost_is_recorded_and_its_retry_withdrawn(
        pg_url: str, home: Path, tmp_path: Path) -> None:
    spec = {"goal": "late", "tasks": [gated(tmp_path, "slow", retries=1, retry_backoff="5m"),
                                      {"label": "next", "after": ["slow"], "command": ["true"]}]}
    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec(spec))
        bravo = start_supervisor(pg_url, "bravo", home, concurrency=1, **OPTS)
        alpha = None
        try:
            wait_for("bravo runs it", lambda: has_child(ledger.get_task(ids["slow"])))
            alpha = start_supervisor(pg_url, "alpha", home, concurrency=1, **OPTS)
            os.kill(bravo.pid, signal.SIGSTOP)  # its run goes on, its heartbeats stop
            wait_for("alpha declares it lost", lambda: ledger.get_task(ids["slow"]).status == "lost")
            first, retry = ledger.attempts_of(ledger.get_task(ids["slow"]))
            assert retry.status == "queued" and retry.not_before is not None  # after its 5 min backoff
            (tmp_path / "gate-slow").touch()
            wait_for("the lost run ends after all", lambda: exit_file(first).exists())
            os.kill(bravo.pid, signal.SIGCONT)
            wait_for("the flow ends", lambda: ledger.get_flow(flow_id).status == "succeeded", timeout=60)
        finally:
            os.kill(bravo.pid, signal.SIGCONT)
            journals = [stop(p) for p in (bravo, alpha) if p is not None]
        first, second = ledger.attempts_of(ledger.get_task(ids["slow"]))
        assert (first.status, first.exit_code, first.terminal_summary) == ("lost", 0, "did slow"), journals
        (late,) = [e for e in ledger.task_events(first.task_id) if e.kind == "late_result"]
        assert late.detail == "its run ended exit 0, succeeded, after it was declared lost"
        assert (second.status, second.started_at, second.exit_code) == ("succeeded", None, None)
        assert [e.kind for e in ledger.task_events(second.task_id)] == ["auto_retry", "withdrawn"]
        assert started(tmp_path, "slow") == 1  # the work ran once
        assert ledger.get_task(ids["next"]).status == "succeeded"  # and what waited on it ran
        said = " ".join(journals[0].split())
        assert "declared lost, but its run ended succeeded exit 0: recorded that late" in said, journals[0]
        assert f"its retry {second.task_id[:8]} was not needed and never ran (withdrawn)" in said


@pytest.mark.slow  # ~8 s: a lease has to run out
def test_a_supervisor_started_on_the_host_later_records_the_late_result(
        ledger_url: str, home: Path, tmp_path: Path) -> None:
    """The host's supervisor died for good; its run went on after it was declared lost. The
    next supervisor there finds the exit file and records it (recovery's late-result pass)."""
    spec = {"goal": "later", "tasks": [gated(tmp_path, "slow", retries=1, retry_backoff="5m")]}
    with Ledger(ledger_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec(spec))
        bravo = start_supervisor(ledger_url, "bravo", home, concurrency=1, **OPTS)
        try:
            wait_for("bravo runs it", lambda: has_child(ledger.get_task(ids["slow"])))
        finally:
            bravo.kill()  # only the supervisor: its run goes on
            stop(bravo)
        # A judge on another host that cannot see bravo's disk: no result, so lost.
        judge = ledger.register_supervisor("alpha", os.getpid(), None, lease_ms=LEASE_MS).supervisor_id
        wait_for("bravo's lease runs out", lambda: ledger.heartbeat(judge) and ledger.expire_leases(
            "alpha", f"supervisor:{judge[:8]}"))
        assert ledger.get_task(ids["slow"]).status == "lost"
        (tmp_path / "gate-slow").touch()
        wait_for("the lost run ends after all", lambda: exit_file(ledger.get_task(ids["slow"])).exists())
        ledger.supervisor_stopped(judge)

        assert Supervisor(ledger_url, host="bravo", poll_interval_s=0.05).run(until_idle=True) == 0
        first, second = ledger.attempts_of(ledger.get_task(ids["slow"]))
        assert (first.status, first.exit_code, second.status, second.started_at) == ("lost", 0, "succeeded", None)
        assert ledger.get_flow(flow_id).status == "succeeded" and started(tmp_path, "slow") == 1

