"""Several processes opening one new (or old) ledger at the same moment all get a usable ledger.

A board and its supervisors started together on a fresh state directory, or supervisors on
several hosts started by one deploy on a fresh PostgreSQL schema, all create (or migrate)
the ledger at once. Before the schema was created under a lock, most of them failed with
"UNIQUE constraint failed: ledger_meta.key" (PostgreSQL: a duplicate pg_type key), or
migrating, "duplicate column name": found by the chaos soak (bench/soak.py), whose board and
supervisors start together.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_board.ledger import Ledger, command_spec
from openclaw_board.ledger.models import SCHEMA_VERSION

# Each opener imports first, says so, then waits for the starting gun (a file) and opens.
OPENER = """
import os, sys, time
from openclaw_board.ledger import Ledger
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
try:
    Ledger(sys.argv[1]).close()
    print("ok")
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
"""
OPENERS = 6


def open_all_at_once(url: str, gun: Path) -> list[str]:
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, url, str(gun)], stdout=subprocess.PIPE, text=True)
             for _ in range(OPENERS)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    gun.touch()
    return [proc.communicate(timeout=120)[0].strip() for proc in procs]


def version_of(ledger: Ledger) -> int:
    return int(ledger.db.execute_sql("SELECT value FROM ledger_meta WHERE key = 'schema_version'").fetchone()[0])


@pytest.mark.slow
def test_processes_creating_one_ledger_at_once_all_succeed(ledger_url: str, home: Path, tmp_path: Path) -> None:
    assert open_all_at_once(ledger_url, tmp_path / "go") == ["ok"] * OPENERS
    with Ledger(ledger_url) as ledger:
        assert version_of(ledger) == SCHEMA_VERSION
        flow_id, _ = ledger.submit(command_spec("after the race", ["true"]))
        assert [f.flow_id for f in ledger.list_flows()] == [flow_id]


@pytest.mark.slow
def test_processes_migrating_one_ledger_at_once_all_succeed(ledger_url: str, home: Path, tmp_path: Path) -> None:
    with Ledger(ledger_url) as ledger:
        flow_id, _ = ledger.submit(command_spec("old work", ["true"]))
        # Back to schema 1, as an older openclaw-board left it (SQLite 3.35+ drops columns too).
        ledger.db.execute_sql("ALTER TABLE task DROP COLUMN owner_token")
        ledger.db.execute_sql("ALTER TABLE task DROP COLUMN log_tail")
        ledger.db.execute_sql("UPDATE ledger_meta SET value = '1' WHERE key = 'schema_version'")
    assert open_all_at_once(ledger_url, tmp_path / "go") == ["ok"] * OPENERS
    with Ledger(ledger_url) as ledger:
        assert version_of(ledger) == SCHEMA_VERSION
        assert {"owner_token", "log_tail"} <= {c.name for c in ledger.db.get_columns("task")}
        assert [f.flow_id for f in ledger.list_flows()] == [flow_id]


def test_a_ledger_created_between_the_two_looks_at_its_version_opens(ledger_url: str, home: Path) -> None:
    """The window inside `read_version`, made wide: right after this opener finds no meta table,
    another process creates the whole ledger (tables and version in one transaction). Before
    `settled_version`, the opener then saw a task table with "no version" and refused the ledger
    as damaged."""
    from openclaw_board.ledger import db as dbmod
    from openclaw_board.ledger.models import build_models
    from openclaw_board.ledger.schema import ensure_schema

    database, _ = dbmod.connect(ledger_url)
    models = build_models(database)
    real = database.table_exists
    created: list[str] = []

    def table_exists_then_another_process_creates_the_ledger(table, schema=None):  # type: ignore[no-untyped-def]
        answer = real(table, schema)
        if not created:
            created.append(table)
            subprocess.run([sys.executable, "-c", "import sys; from openclaw_board.ledger import Ledger; "
                            "Ledger(sys.argv[1]).close()", ledger_url], check=True, timeout=60)
        return answer

    database.table_exists = table_exists_then_another_process_creates_the_ledger  # type: ignore[method-assign]
    try:
        assert ensure_schema(database, models) == SCHEMA_VERSION
    finally:
        database.close()
    assert created  # the other process really ran inside the window
