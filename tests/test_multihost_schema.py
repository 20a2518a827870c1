"""PostgreSQL as a shared ledger: the same migrations, logs readable from any host, no credentials printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openclaw_board.ledger import Ledger, command_spec, parse_spec
from openclaw_board.ledger.models import SCHEMA_VERSION
from openclaw_board.ledger.notify import ChangeListener
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.logs import read_log_anywhere


def test_a_schema_1_ledger_on_postgresql_is_migrated(pg_url: str) -> None:
    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(command_spec("old work", ["true"], label="old"))
        # Back to schema 1 as an old openclaw-board left it: no fencing token, no log tail.
        ledger.db.execute_sql("ALTER TABLE task DROP COLUMN owner_token")
        ledger.db.execute_sql("ALTER TABLE task DROP COLUMN log_tail")
        ledger.db.execute_sql("UPDATE ledger_meta SET value = '1' WHERE key = 'schema_version'")
    with Ledger(pg_url) as ledger:
        version = ledger.db.execute_sql("SELECT value FROM ledger_meta WHERE key = 'schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION
        columns = {c.name for c in ledger.db.get_columns("task")}
        assert {"owner_token", "log_tail"} <= columns
        sup = ledger.register_supervisor("alpha", os.getpid(), None)
        task = ledger.claim_next(sup.supervisor_id, "alpha").task
        assert task.task_id == ids["old"] and task.owner_token == sup.generation
        ledger.report_progress(task.task_id, sup.supervisor_id, log_tail="x" * 40_000)
        assert len(ledger.get_task(task.task_id).log_tail) == 16 * 1024  # bounded


def test_a_log_is_read_from_the_file_on_its_host_and_from_the_ledger_elsewhere(pg_url: str, home: Path) -> None:
    lines = "; ".join(f"echo line{i}" for i in range(1000))
    spec = parse_spec({"goal": "logs", "tasks": [{"label": "talk", "command": lines + "; echo LAST", "shell": True}]})
    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(spec)
        assert Supervisor(pg_url, host="far", concurrency=1).run(until_idle=True) == 0
        task = ledger.get_task(ids["talk"])
        assert task.status == "succeeded" and task.host == "far"

        there = read_log_anywhere(ledger, task, host="far")
        assert there.source == "file" and there.note is None
        assert there.data.startswith(b"line0\n") and there.data.endswith(b"LAST\n")

        here = read_log_anywhere(ledger, task, host="near")
        assert here.source == "ledger" and "host far" in (here.note or "")
        assert here.data.endswith(b"line999\nLAST\n") and b"line0\n" not in here.data  # a tail only

        flow_id, ids = ledger.submit(command_spec("quiet", ["true"], label="q"))
        queued = ledger.get_task(ids["q"])
        nothing = read_log_anywhere(ledger, queued, host="near")
        assert (nothing.source, nothing.data) == ("none", b"")


def test_credentials_in_a_postgresql_url_are_never_printed(home: Path) -> None:
    url = "postgresql://postgres:s3cret-pw@127.0.0.1:1/test"
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", url, "supervise", "--until-idle"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and "s3cret-pw" not in done.stderr + done.stdout
    assert "postgres:***@127.0.0.1:1" in done.stderr
    with ChangeListener(url) as listener:
        assert not listener.listening and listener.error
        assert "s3cret-pw" not in listener.error and listener.wait(0.05) is False
    journal = home / "supervisor.log"
    assert not journal.exists() or "s3cret-pw" not in journal.read_text()
