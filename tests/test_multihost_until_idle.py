"""`supervise --until-idle` started right after another host died: it judges the
dead host's lease before it calls itself idle, so it never exits leaving runs `running` with
nobody alive; their retries run here, then it exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from multihost_support import child_pid, kill_host, start_supervisor, stop, wait_for

from openclaw_board.ledger import Ledger, parse_spec

LEASE_MS = 3000


@pytest.mark.slow  # ~10 s: the dead host's lease has to run out, then a lease check, then the retries
def test_until_idle_judges_a_dead_hosts_lease_before_it_calls_itself_idle(
        ledger_url: str, home: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = 'echo "start $1" >> "$0"; while [ ! -e "$2" ]; do sleep 0.05; done'
    tasks = [{"label": f"t{i}", "retries": 1, "retry_backoff": "0s",
              "command": ["sh", "-c", script, str(tmp_path / "ran"), f"t{i}", str(gate)]} for i in range(3)]
    with Ledger(ledger_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec({"goal": "dead host", "tasks": tasks}))
        bravo = start_supervisor(ledger_url, "bravo", home, concurrency=3, lease_ms=LEASE_MS, lease_check_s=0.3)
        try:
            wait_for("bravo runs all three", lambda: len([
                t for t in ledger.running_on_host("bravo") if child_pid(t)]) == 3)
            kill_host(ledger, bravo, "bravo")  # the host died: supervisor, wrappers, commands
        finally:
            journal = stop(bravo)
        gate.touch()  # from now on every run ends at once

        env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), "OPENCLAW_BOARD_HOST": "alpha"}
        alpha = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", ledger_url, "supervise",
                                "--until-idle", "--lease", "3s"], env=env, capture_output=True, text=True,
                               timeout=110)
        assert alpha.returncode == 0, alpha.stderr + journal
        assert ledger.list_tasks(status="running", all_attempts=True) == [], alpha.stderr
        for task_id in ids.values():
            first, second = ledger.attempts_of(ledger.get_task(task_id))
            assert (first.status, first.host) == ("lost", "bravo"), alpha.stderr
            assert "on host bravo missed its lease" in first.error
            assert (second.status, second.host, second.exit_code) == ("succeeded", "alpha", 0), alpha.stderr
        assert ledger.get_flow(flow_id).status == "succeeded"
        said = " ".join(alpha.stderr.split())  # its journal, echoed (and wrapped) on stderr
        assert "on bravo missed its lease: declared dead, 3 running task(s) marked lost" in said
        assert said.index("declared dead") < said.index("idle: nothing running here and nothing queued can run")
