"""Older OpenClaw releases (3.31 to 4.1): tasks in tasks/runs.sqlite, flows in flows/registry.sqlite.

The state directory is written through the gateway's own kind of connections (WAL, STRICT,
the older column subset); the reader opens runs.sqlite read-only with the registry attached
read-only, and must see both files live without ever writing either.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from openclaw_fixtures import FLOW_RUNS_DDL, HOUR, MIN, NOW, OpenClawFile

from openclaw_board.board.service.board_reads import data_version as board_data_version
from openclaw_board.ledger.clock import fixed_clock
from openclaw_board.ledger.openclaw import OpenClawLedger, open_any, resolve_path
from openclaw_board.ledger.serialize import flow_dict

# Flow columns an older registry lacks (a subset of flow_runs, LEDGER.md).
OLDER_FLOW_MISSING = ("sync_mode", "requester_origin_json", "controller_id", "revision", "blocked_task_id",
                      "blocked_summary", "state_json", "wait_json", "cancel_requested_at")


class Registry:
    """flows/registry.sqlite as an older gateway writes it: its own connection, WAL, STRICT."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=wal")
        self.conn.execute("PRAGMA synchronous=OFF")
        lines = [ln for ln in FLOW_RUNS_DDL.strip().splitlines()]
        body = " ".join(lines[1:-1])
        cols = [c.strip() for c in body.split(",") if c.strip()]
        kept = [c for c in cols if c.split()[0] not in OLDER_FLOW_MISSING]
        self.conn.execute(f"CREATE TABLE flow_runs ({', '.join(kept)}) STRICT")
        self.columns = {r[1] for r in self.conn.execute("PRAGMA table_info(flow_runs)")}

    def add_flow(self, flow_id: str, **fields: Any) -> str:
        row: dict[str, Any] = {"flow_id": flow_id, "owner_key": "agent:main:main", "status": "running",
                               "notify_policy": "done_only", "goal": "a goal", "created_at": NOW - HOUR,
                               "updated_at": NOW - 10 * MIN, **fields}
        assert set(row) <= self.columns
        self.conn.execute(f"INSERT INTO flow_runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                          list(row.values()))
        return flow_id

    def close(self) -> None:
        self.conn.close()


@dataclass
class Split:
    state_dir: Path
    tasks: OpenClawFile
    flows: Registry | None

    @property
    def runs(self) -> Path:
        return self.state_dir / "tasks" / "runs.sqlite"

    @property
    def registry(self) -> Path:
        return self.state_dir / "flows" / "registry.sqlite"


def split_state_dir(state_dir: Path, *, with_registry: bool = True) -> Split:
    (state_dir / "tasks").mkdir(parents=True)
    fx = OpenClawFile(state_dir / "tasks" / "runs.sqlite", older=True)
    reg = Registry(state_dir / "flows" / "registry.sqlite") if with_registry else None
    if reg is not None:
        reg.add_flow("flow-lin", shape="linear", goal="Nightly lead enrichment", current_step="enrich",
                     created_at=NOW - 20 * MIN)
        reg.add_flow("flow-done", shape="single_task", goal="Weekly digest", status="succeeded",
                     created_at=NOW - 3 * HOUR, updated_at=NOW - 2 * HOUR, ended_at=NOW - 2 * HOUR)
        reg.add_flow("flow-blocked", shape="linear", goal="Refund review", status="blocked",
                     created_at=NOW - 2 * HOUR, updated_at=NOW - HOUR)
        reg.add_flow("flow-queued", shape="linear", goal="Migrate the wiki", status="queued",
                     created_at=NOW - 30 * MIN, updated_at=NOW - 30 * MIN)
    fx.add_task(task_id="t-enrich", parent_flow_id="flow-lin", label="enrich", status="running",
                created_at=NOW - 10 * MIN, started_at=NOW - 9 * MIN, last_event_at=NOW - MIN)
    fx.add_task(task_id="t-report", parent_flow_id="flow-lin", runtime="acp", label="report",
                created_at=NOW - 2 * MIN)
    fx.add_task(task_id="t-digest", parent_flow_id="flow-done", runtime="cli", label="digest",
                status="succeeded", delivery_status="delivered", created_at=NOW - 3 * HOUR,
                started_at=NOW - 3 * HOUR, ended_at=NOW - 2 * HOUR)
    fx.add_task(task_id="t-review", parent_flow_id="flow-blocked", label="review", status="failed",
                delivery_status="failed", created_at=NOW - 2 * HOUR, started_at=NOW - 2 * HOUR,
                ended_at=NOW - HOUR, error="needs a human")
    fx.add_task(task_id="t-lost", runtime="acp", label="lost", status="lost", delivery_status="not_applicable",
                created_at=NOW - 3 * HOUR, started_at=NOW - 3 * HOUR, ended_at=NOW - 2 * HOUR)
    fx.add_task(task_id="t-stale", runtime="cron", label="stale", created_at=NOW - 20 * MIN)
    fx.add_task(task_id="t-stuck", label="stuck", status="running", created_at=NOW - 50 * MIN,
                started_at=NOW - 45 * MIN, last_event_at=NOW - 40 * MIN)
    return Split(state_dir, fx, reg)


@pytest.fixture
def split(tmp_path: Path):
    s = split_state_dir(tmp_path / "oc")
    yield s
    s.tasks.close()
    if s.flows is not None:
        s.flows.close()


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def test_every_url_form_finds_the_split_layout(split: Split, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(split.state_dir))
    for url in ("openclaw://", f"openclaw://{split.state_dir}", f"openclaw://{split.runs}"):
        assert resolve_path(url) == split.runs
        with OpenClawLedger(url, clock=fixed_clock(NOW)) as led:
            assert led.registry == split.registry and led.schema.flows_attached
            assert led.flow_pressure()["total"] == 4
    # A plain path to runs.sqlite is recognised as OpenClaw's and brings its registry too.
    with open_any(str(split.runs), clock=fixed_clock(NOW)) as led:
        assert led.get_flow("flow-done").goal == "Weekly digest"
    # The single file wins over the split layout when both exist.
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "both"))
    (tmp_path / "both" / "state").mkdir(parents=True)
    (tmp_path / "both" / "state" / "openclaw.sqlite").touch()
    (tmp_path / "both" / "tasks").mkdir()
    (tmp_path / "both" / "tasks" / "runs.sqlite").touch()
    assert resolve_path("openclaw://") == tmp_path / "both" / "state" / "openclaw.sqlite"


def test_flows_tasks_pressure_and_audit(split: Split) -> None:
    with OpenClawLedger(f"openclaw://{split.state_dir}", clock=fixed_clock(NOW)) as led:
        # queued: t-report, t-stale; running: t-enrich, t-stuck; issues: t-review (failed), t-lost.
        assert led.task_pressure() == {"queued": 2, "running": 2, "issues": 2}
        # active: flow-lin (running), flow-queued; no cancel_requested_at column in the older registry.
        assert led.flow_pressure() == {"active": 2, "waiting": 0, "blocked": 1, "issues": 0, "cancel_requested": 0,
                                       "total": 4}
        flows = {f.flow_id: f for f in led.list_flows()}
        assert set(flows) == {"flow-lin", "flow-done", "flow-blocked", "flow-queued", "t-lost", "t-stale",
                              "t-stuck"}
        assert [f for f, row in flows.items() if not row.standalone] == [
            "flow-lin", "flow-queued", "flow-blocked", "flow-done"]  # newest first
        lin = led.get_flow("flow-lin")
        assert (lin.goal, lin.shape, lin.current_step, lin.sync_mode, lin.revision) == (
            "Nightly lead enrichment", "linear", "enrich", None, 0)
        assert flow_dict(lin, led.task_counts(["flow-lin"])["flow-lin"])["task_counts"] == {"running": 1, "queued": 1}
        assert [t.task_id for t in led.latest_attempts("flow-lin")] == ["t-enrich", "t-report"]
        assert {t.task_id: t.flow_id for t in led.list_tasks()}["t-digest"] == "flow-done"
        assert led.task_counts(["flow-lin", "flow-blocked"]) == {
            "flow-lin": {"running": 1, "queued": 1}, "flow-blocked": {"failed": 1}}
        assert {f.flow_id for f in led.flows_matching("issues")} >= {"flow-blocked", "t-lost"}
        # No cleanup_after in the older runs.sqlite reads as unstamped, as openclaw reads the file
        # once migrated: terminal records lack a cleanup, the lost one is not retained.
        # flow-blocked has been blocked, with no end, for an hour: stale_blocked (a TaskFlow finding).
        assert sorted((f.code, f.severity, f.task_id or f.flow_id) for f in led.audit()) == [
            ("delivery_failed", "warn", "t-review"), ("lost", "error", "t-lost"),
            ("missing_cleanup", "warn", "t-digest"), ("missing_cleanup", "warn", "t-review"),
            ("stale_blocked", "warn", "flow-blocked"), ("stale_queued", "warn", "t-stale"),
            ("stale_running", "error", "t-stuck")]


def test_without_a_registry_the_tasks_are_read_alone(tmp_path: Path) -> None:
    s = split_state_dir(tmp_path / "oc", with_registry=False)
    try:
        with OpenClawLedger(f"openclaw://{s.state_dir}", clock=fixed_clock(NOW)) as led:
            assert led.registry is None and led.schema.Flow is None
            assert led.flow_pressure()["total"] == 0
            assert led.task_pressure() == {"queued": 2, "running": 2, "issues": 2}
            assert led.get_flow("flow-lin").standalone  # known only from the tasks' parent_flow_id
    finally:
        s.tasks.close()


def test_a_registry_that_is_not_sqlite_is_refused_clearly(split: Split) -> None:
    split.flows.close()  # type: ignore[union-attr]
    for side in ("", "-wal", "-shm"):
        Path(str(split.registry) + side).unlink(missing_ok=True)
    split.registry.write_bytes(b"not a database at all")
    from openclaw_board.ledger import LedgerUnavailable

    with pytest.raises(LedgerUnavailable, match="registry.sqlite is not an OpenClaw ledger"):
        OpenClawLedger(f"openclaw://{split.state_dir}")
    split.flows = None


def test_a_write_to_either_file_appears_on_the_next_read(split: Split) -> None:
    with OpenClawLedger(f"openclaw://{split.state_dir}", clock=fixed_clock(NOW)) as led:
        assert led.flow_pressure()["total"] == 4
        reads, version, board_version = led.reads, led.data_version(), board_data_version(led)
        led.list_flows()
        assert led.reads == reads and led.data_version() == version  # nothing committed: no new read
        assert board_data_version(led) == board_version

        # A write to the registry alone (runs.sqlite untouched) is seen on the next read.
        split.flows.add_flow("flow-new", goal="Plan the offsite", status="running",  # type: ignore[union-attr]
                             created_at=NOW - MIN, updated_at=NOW - MIN)
        assert led.data_version() != version
        assert board_data_version(led) != board_version  # the board's change check sees it too
        assert led.flow_pressure() == {"active": 3, "waiting": 0, "blocked": 1, "issues": 0, "cancel_requested": 0,
                                       "total": 5}
        assert led.get_flow("flow-new").goal == "Plan the offsite" and led.reads == reads + 1
        split.flows.conn.execute(  # type: ignore[union-attr]
            "UPDATE flow_runs SET status = 'succeeded' WHERE flow_id = 'flow-blocked'")
        assert led.get_flow("flow-blocked").status == "succeeded"

        # And a write to runs.sqlite, into a registry flow.
        split.tasks.add_task(task_id="t-plan", parent_flow_id="flow-new", label="plan", created_at=NOW)
        assert [t.task_id for t in led.latest_attempts("flow-new")] == ["t-plan"]
        assert led.reads == reads + 3


def test_neither_file_is_ever_written(split: Split) -> None:
    split.tasks.close()  # the gateway stops: its checkpoints fold the WALs into the files
    split.flows.close()  # type: ignore[union-attr]
    files = (split.runs, split.registry)
    assert not any(Path(f"{p}-wal").exists() for p in files)
    before = {p: fingerprint(p) for p in files}
    for _ in range(3):
        with OpenClawLedger(f"openclaw://{split.state_dir}", clock=fixed_clock(NOW)) as led:
            for _ in range(5):
                for flow in led.list_flows():
                    led.get_flow(flow.flow_id)
                    led.flow_events(flow.flow_id)
                led.list_tasks(all_attempts=True)
                led.task_pressure()
                led.flow_pressure()
                led.audit()
                led.refresh()
            for sql in ("INSERT INTO flows.flow_runs (flow_id) VALUES ('x')", "DELETE FROM task_runs"):
                with pytest.raises(pw.OperationalError, match="readonly|read-only|query_only"):
                    led.db.execute_sql(sql)
            led.db.execute_sql("PRAGMA query_only = 0")  # even without query_only, mode=ro holds
            with pytest.raises(pw.OperationalError, match="readonly"):
                led.db.execute_sql("DELETE FROM flows.flow_runs")
    assert {p: fingerprint(p) for p in files} == before
    # SQLite made the WAL index files a WAL reader needs; nothing was written to either log.
    assert all(Path(f"{p}-wal").stat().st_size == 0 for p in files)


def test_cli_lists_flows_of_a_split_state_dir(split: Split, home: Path) -> None:
    before = {p: fingerprint(p) for p in (split.runs, split.registry)}
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), "COLUMNS": "120"}
    script = Path(sys.executable).with_name("openclaw-board")  # the installed entry point
    out = subprocess.run([str(script), "--db", f"openclaw://{split.state_dir}", "flows", "list", "--json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    ids = [f["flow_id"] for f in listed["flows"]]
    assert {"flow-lin", "flow-done", "flow-blocked", "flow-queued"} <= set(ids)
    assert listed["count"] == len(ids) == 7
    assert {p: fingerprint(p) for p in (split.runs, split.registry)} == before
