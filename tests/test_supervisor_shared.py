"""Two supervisors (separate processes) on one ledger and one host share work: each task runs once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from openclaw_board.ledger import Ledger, parse_spec

N = 200


@pytest.mark.slow  # ~15 s on SQLite, ~20 s on PostgreSQL (2 cores)
def test_two_supervisors_run_each_of_200_tasks_exactly_once(ledger: Ledger, home: Path, tmp_path: Path) -> None:
    log = tmp_path / "ran"
    tasks = [{"label": f"t{i:03d}", "command": ["sh", "-c", 'echo "$1" >> "$0"', str(log), f"t{i:03d}"]}
             for i in range(N)]
    # Two flows, so that claims interleave across flows as well as within one.
    flows = [ledger.submit(parse_spec({"goal": f"half {k}", "tasks": tasks[k::2]}))[0] for k in range(2)]
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home)}
    cmd = [sys.executable, "-m", "openclaw_board", "--db", ledger.url, "supervise", "--until-idle",
           "--concurrency", "2", "--quiet"]
    procs = [subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=110)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs

    ran = Counter(log.read_text().split())
    assert len(ran) == N and set(ran.values()) == {1}
    rows = [t for f in flows for t in ledger.flow_attempts(f)]
    assert len(rows) == N and {t.status for t in rows} == {"succeeded"}
    assert {t.attempt for t in rows} == {1}
    # Every task names the supervisor that ran it, and both supervisors are on record as stopped.
    sups = {s.supervisor_id: s for s in ledger.supervisors()}
    assert {t.supervisor_id for t in rows} <= set(sups)
    assert len(sups) == 2 and all(s.stopped_at is not None for s in sups.values())
