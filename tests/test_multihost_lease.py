"""Ownership across hosts: a dead host's runs are lost after its lease and retried elsewhere,
never while it still heartbeats; a supervisor that comes back is fenced."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from multihost_support import child_pid, kill_host, pid_alive, start_supervisor, stop, wait_for

from openclaw_board.ledger import Ledger, StaleOwner, parse_spec

LEASE_MS = 3000


@pytest.mark.slow  # ~10 s: a lease has to run out, then the retries run
def test_dead_hosts_runs_are_lost_after_its_lease_retried_elsewhere_and_its_writes_refused(
        pg_url: str, home: Path, tmp_path: Path) -> None:
    ran, gate = tmp_path / "ran", tmp_path / "gate"
    # Every run waits on the gate (not on a timer: under load the test must not race its tasks).
    script = 'echo "start $1" >> "$0"; while [ ! -e "$2" ]; do sleep 0.05; done; echo "end $1" >> "$0"'
    tasks = [{"label": f"t{i}", "command": ["sh", "-c", script, str(ran), f"t{i}", str(gate)], "retries": 1,
              "retry_backoff": "0s"} for i in range(6)]
    with Ledger(pg_url) as ledger:
        flow_id, _ = ledger.submit(parse_spec({"goal": "lease", "tasks": tasks}))
        opts = {"lease_ms": LEASE_MS, "lease_check_s": 0.3}
        bravo = start_supervisor(pg_url, "bravo", home, concurrency=3, **opts)
        alpha = None
        try:
            def bravo_started() -> bool:
                runs = ledger.running_on_host("bravo")
                started = ran.read_text() if ran.exists() else ""
                return len(runs) == 3 and all(child_pid(t) and f"start {t.label}\n" in started for t in runs)

            wait_for("bravo runs three tasks", bravo_started)
            alpha = start_supervisor(pg_url, "alpha", home, concurrency=6, **opts)
            wait_for("alpha runs the other three", lambda: len(ledger.running_on_host("alpha")) == 3)
            doomed = {t.task_id: t.label for t in ledger.running_on_host("bravo")}
            bravo_id = ledger.running_on_host("bravo")[0].supervisor_id
            kill_host(ledger, bravo, "bravo")  # the host died: supervisor, wrappers, commands
            gate.touch()
            wait_for("the flow ends", lambda: ledger.get_flow(flow_id).status == "succeeded", timeout=60)
        finally:
            journals = [stop(p) for p in (alpha, bravo) if p is not None]
        assert ledger.get_flow(flow_id).status == "succeeded", journals

        dead = ledger.m.Supervisor.get_by_id(bravo_id)
        assert dead.stopped_at is not None and dead.generation == 2
        lease_end = dead.heartbeat_at + dead.lease_ms
        attempts = ledger.flow_attempts(flow_id)
        for task_id, label in doomed.items():
            first = ledger.get_task(task_id)
            assert first.status == "lost"
            assert "on host bravo missed its lease" in first.error
            lost_at = [e.at for e in ledger.task_events(task_id) if e.kind == "lost"]
            assert len(lost_at) == 1 and lost_at[0] >= lease_end  # never while its lease held
            retry = [t for t in attempts if t.label == label and t.attempt == 2]
            assert len(retry) == 1 and retry[0].status == "succeeded" and retry[0].host == "alpha"
            assert retry[0].started_at >= lost_at[0]
        # Run counts: bravo's three started twice (killed there, retried here), never ended twice.
        lines = Counter(ran.read_text().splitlines())
        for label in (f"t{i}" for i in range(6)):
            assert lines[f"start {label}"] == (2 if label in doomed.values() else 1)
            assert lines[f"end {label}"] == 1
        others = [t for t in attempts if t.label not in doomed.values()]
        assert {(t.attempt, t.status, t.host) for t in others} == {(1, "succeeded", "alpha")}

        # bravo's id comes back: its heartbeat and every write it tries are refused.
        assert ledger.heartbeat(bravo_id) is False
        for task_id in doomed:
            with pytest.raises(StaleOwner):
                ledger.finish(task_id, "succeeded", supervisor_id=bravo_id, exit_code=0)
            with pytest.raises(StaleOwner):
                ledger.report_progress(task_id, bravo_id, progress=50, log_tail="late")
            with pytest.raises(StaleOwner):
                ledger.record_process(task_id, bravo_id, 1, None, "/nowhere")
            after = ledger.get_task(task_id)
            assert (after.status, after.progress, after.log_tail) == ("lost", None, first.log_tail)


@pytest.mark.slow  # ~8 s: a lease has to run out
def test_a_supervisor_frozen_past_its_lease_is_fenced_and_kills_its_retried_run(
        pg_url: str, home: Path, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    spec = {"goal": "frozen", "tasks": [{"label": "long", "retries": 1, "retry_backoff": "0s",
                                         "command": ["sh", "-c", 'echo "$$" >> "$0"; sleep 60', str(ran)]}]}
    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec(spec))
        opts = {"lease_ms": LEASE_MS, "lease_check_s": 0.3}
        bravo = start_supervisor(pg_url, "bravo", home, concurrency=1, **opts)
        alpha = None
        try:
            first = wait_for("bravo runs it", lambda: [t for t in ledger.running_on_host("bravo") if child_pid(t)])[0]
            child = child_pid(first)
            alpha = start_supervisor(pg_url, "alpha", home, concurrency=1, **opts)
            wait_for("alpha is up", lambda: any(s.host == "alpha" for s in ledger.supervisors(live_only=True)))
            os.kill(bravo.pid, signal.SIGSTOP)  # cut off: no heartbeats, its run goes on
            retry = wait_for("the retry runs on alpha", lambda: [
                t for t in ledger.running_on_host("alpha") if t.attempt == 2], timeout=30)[0]
            assert ledger.get_task(first.task_id).status == "lost"
            assert pid_alive(child)  # a frozen supervisor's run still runs: that is why it is fenced
            os.kill(bravo.pid, signal.SIGCONT)
            wait_for("bravo, fenced, kills its run that was retried elsewhere", lambda: not pid_alive(child))
            after = ledger.get_task(first.task_id)
            assert (after.status, after.supervisor_id) == ("lost", first.supervisor_id)
            assert ledger.get_task(retry.task_id).status == "running"  # the retry is untouched
            ledger.cancel_flow(flow_id)
            wait_for("the flow is cancelled", lambda: ledger.get_flow(flow_id).status == "cancelled")
        finally:
            if bravo.poll() is None:
                os.kill(bravo.pid, signal.SIGCONT)
            journals = [stop(p) for p in (alpha, bravo) if p is not None]
        assert "settled elsewhere (lost) while we were fenced; killed our run" in journals[1], journals[1]
        assert len(ran.read_text().split()) == 2  # two attempts started; the first one was killed
