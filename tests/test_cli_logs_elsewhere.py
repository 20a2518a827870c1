"""`tasks logs` for a task that ran on another host: the ledger's tail, saying where the log is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openclaw_board.ledger import Ledger, command_spec


def test_logs_of_a_task_on_another_host_come_from_the_ledger(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        _, ids = ledger.submit(command_spec("far away", ["true"]))
        sup = ledger.register_supervisor("far-host", 4242, None)
        task = ledger.claim_next(sup.supervisor_id, "far-host").task
        ledger.record_process(task.task_id, sup.supervisor_id, 4243, None, "/srv/far/runs/x")
        ledger.report_progress(task.task_id, sup.supervisor_id, log_tail="line one\nline two\n")
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), "OPENCLAW_BOARD_HOST": "near-host"}
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", sqlite_url, "tasks", "logs",
                           ids["main"][:8]], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "line one\nline two\n"
    assert "far-host" in proc.stderr and "ledger" in proc.stderr
