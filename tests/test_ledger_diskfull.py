"""A full disk under a SQLite ledger, for real (a small tmpfs): said as such, nothing half-written,
and nothing lost once there is room again (the CLI once said "cannot rollback - no
transaction is active", the error of Peewee's ROLLBACK after SQLite had rolled back itself).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from supervisor_support import one, wait_for
from tmpfs_support import fill, small_tmpfs

from openclaw_board.ledger import Ledger, LedgerFull, command_spec
from openclaw_board.supervisor import Supervisor

BIG_GOAL = "x" * 3000  # more than the pages left in the WAL


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_the_api_says_disk_full_and_writes_nothing(home: Path) -> None:
    with small_tmpfs(home, "512k"), Ledger(f"sqlite:///{home / 'ledger.db'}") as ledger:
        ledger.submit(command_spec("before", ["true"]))
        filler = fill(home)
        with pytest.raises(LedgerFull) as info:
            ledger.submit(command_spec(BIG_GOAL, ["true"]))
        assert str(info.value) == f"ledger {home / 'ledger.db'}: disk full (database or disk is full)"
        assert [f.goal for f in ledger.list_flows()] == ["before"]
        filler.unlink()
        ledger.submit(command_spec("after", ["true"]))  # the same connection works again
        assert sorted(f.goal for f in ledger.list_flows()) == ["after", "before"]
    # (the tmpfs is gone with its files; integrity is checked in the CLI test, which keeps them)


def test_the_cli_says_disk_full_in_one_line(home: Path) -> None:
    path = home / "ledger.db"
    with small_tmpfs(home, "512k"), Ledger(f"sqlite:///{path}") as ledger:  # held open: its WAL stays
        ledger.submit(command_spec("before", ["true"]))
        filler = fill(home)
        proc = subprocess.run([sys.executable, "-m", "openclaw_board", "submit", "--goal", BIG_GOAL, "--", "true"],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr == f"error: ledger {path}: disk full (database or disk is full)\n"
        filler.unlink()
        assert integrity(path) == "ok"
        assert [f.goal for f in ledger.list_flows()] == ["before"]


def test_a_result_that_arrives_while_the_ledger_disk_is_full_is_recorded_later(home: Path, tmp_path: Path) -> None:
    """The command ends while nothing can be written (ledger, journal and run files on one full
    tmpfs): the supervisor keeps trying, and records the true exit code once there is room."""
    url = f"sqlite:///{home / 'ledger.db'}"
    with small_tmpfs(home, "1m"), Ledger(url) as ledger:
        task_id = one(ledger, {"command": ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.05; done; exit 3',
                                           str(tmp_path / "go")]})
        sup = Supervisor(url, concurrency=1, poll_interval_s=0.05)
        thread = sup.start_thread()
        try:
            wait_for(lambda: ledger.get_task(task_id).pid, "started")
            filler = fill(home)
            (tmp_path / "go").touch()
            wait_for(lambda: (home / "runs" / task_id / "exit").exists(), "its exit recorded on the full disk")
            wait_for(lambda: sup.runs.get(task_id) is None, "the supervisor tried to record it")
            assert ledger.get_task(task_id).status == "running"  # not recorded (no room), not lost either
            filler.unlink()
            t = wait_for(lambda: (x := ledger.get_task(task_id)).status != "running" and x, "recorded")
        finally:
            sup.request_stop()
            thread.join(30)
        assert (t.status, t.exit_code, t.error) == ("failed", 3, "exit 3")
        assert integrity(home / "ledger.db") == "ok"
