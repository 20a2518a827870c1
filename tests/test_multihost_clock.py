"""A host whose clock is wrong: leases are judged on the database's clock, so a
host 20 s ahead never declares a healthy host dead, yet still expires one that really died.

The skewed host is a real supervisor process whose wall clock is shifted by the test-only
OPENCLAW_BOARD_TEST_CLOCK_SKEW_MS (ledger/clock.py): every timestamp it writes is 20 s ahead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from multihost_support import child_pid, kill_host, start_supervisor, stop, wait_for

from openclaw_board.ledger import Ledger, parse_spec

LEASE_MS = 3000
SKEW_MS = 20_000


@pytest.mark.slow  # ~10 s: a dead host's lease has to run out
def test_a_host_20s_ahead_declares_no_healthy_host_dead(pg_url: str, home: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    gate = tmp_path / "gate"
    script = 'echo "start $1" >> "$0"; while [ ! -e "$2" ]; do sleep 0.05; done'

    def task(label: str) -> dict:
        return {"label": label, "runtime": label, "retries": 1, "retry_backoff": "0s",
                "command": ["sh", "-c", script, str(tmp_path / "ran"), label, str(gate)]}

    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec({"goal": "clocks", "tasks": [task("healthy"), task("doomed")]}))
        # alpha and charlie keep true time and never judge leases; bravo, 20 s ahead, judges every 0.3 s.
        quiet = {"lease_ms": LEASE_MS, "lease_check_s": 3600}
        alpha = start_supervisor(pg_url, "alpha", home, runtime_limits={"healthy": 1, "doomed": 0}, **quiet)
        charlie = start_supervisor(pg_url, "charlie", home, runtime_limits={"doomed": 1, "healthy": 0}, **quiet)
        bravo = None
        try:
            wait_for("alpha and charlie run their task", lambda: all(
                child_pid(t) for t in (ledger.get_task(ids["healthy"]), ledger.get_task(ids["doomed"]))))
            monkeypatch.setenv("OPENCLAW_BOARD_TEST_CLOCK_SKEW_MS", str(SKEW_MS))
            bravo = start_supervisor(pg_url, "bravo", home, runtime_limits={"healthy": 0, "doomed": 0},
                                     lease_ms=LEASE_MS, lease_check_s=0.3)
            monkeypatch.delenv("OPENCLAW_BOARD_TEST_CLOCK_SKEW_MS")
            wait_for("bravo is up", lambda: any(s.host == "bravo" for s in ledger.supervisors()))
            healthy = ledger.get_task(ids["healthy"])
            kill_host(ledger, charlie, "charlie")  # a host that really dies
            wait_for("bravo declares charlie dead", lambda: ledger.get_task(ids["doomed"]).status != "running")
            doomed = ledger.get_task(ids["doomed"])
            (judged,) = [e for e in ledger.task_events(doomed.task_id) if e.kind == "lost"]
            bravo_id = next(s.supervisor_id for s in ledger.supervisors() if s.host == "bravo")
            assert judged.actor == f"supervisor:{bravo_id[:8]}"
            # By then bravo had judged alpha's lease many times, with a clock 20 s ahead: alpha lives on.
            alpha_row = ledger.m.Supervisor.get_by_id(healthy.supervisor_id)
            assert (alpha_row.stopped_at, alpha_row.generation) == (None, 1)
            now = ledger.get_task(ids["healthy"])
            assert (now.status, now.attempt, now.supervisor_id) == ("running", 1, healthy.supervisor_id)
            gate.touch()
            wait_for("the healthy task ends", lambda: ledger.get_task(ids["healthy"]).status == "succeeded")
        finally:
            gate.touch()
            journals = [stop(p) for p in (alpha, bravo) if p is not None]
        said = " ".join(" ".join(journals).split())
        assert "on alpha missed its lease" not in said and "was declared dead" not in said, journals
        assert "on charlie missed its lease: declared dead" in said
        assert [t.attempt for t in ledger.attempts_of(ledger.get_task(ids["healthy"]))] == [1]
        assert (tmp_path / "ran").read_text().count("start healthy") == 1
        assert ledger.get_flow(flow_id).status != "lost"
