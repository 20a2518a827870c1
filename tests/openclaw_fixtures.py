"""Build ledgers with OpenClaw's schema (shared/openclaw/LEDGER.md) for tests.

`OpenClawFile` writes like the gateway does: its own connection, WAL mode, STRICT
tables, millisecond timestamps, TEXT ids. `standard_ledger` holds every status, runtime
and delivery state plus the anomalies the audit looks for; `older_release_ledger` lacks
optional columns and tables, as releases before the shared state database did.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN = 60 * 1000
HOUR = 60 * MIN
NOW = 1_790_000_000_000  # a fixed "now" (2026-09-21), given to the ledger as its clock

TASK_RUNS_DDL = """
CREATE TABLE task_runs (
  task_id TEXT PRIMARY KEY, runtime TEXT NOT NULL, task_kind TEXT, source_id TEXT,
  requester_session_key TEXT, owner_key TEXT NOT NULL, scope_kind TEXT NOT NULL,
  child_session_key TEXT, parent_flow_id TEXT, parent_task_id TEXT, agent_id TEXT,
  requester_agent_id TEXT, run_id TEXT, execution_owner_host TEXT, execution_owner_pid INTEGER,
  execution_owner_start_identity INTEGER, label TEXT, task TEXT NOT NULL, status TEXT NOT NULL,
  delivery_status TEXT NOT NULL, notify_policy TEXT NOT NULL, created_at INTEGER NOT NULL,
  started_at INTEGER, ended_at INTEGER, last_event_at INTEGER, cleanup_after INTEGER,
  tool_use_count INTEGER, last_tool_name TEXT, error TEXT, progress_summary TEXT,
  terminal_summary TEXT, terminal_outcome TEXT, detail_json TEXT
) STRICT;
CREATE INDEX task_runs_run_id ON task_runs(run_id);
CREATE INDEX task_runs_status ON task_runs(status);
CREATE INDEX task_runs_runtime_status ON task_runs(runtime, status);
CREATE INDEX task_runs_cleanup_after ON task_runs(cleanup_after);
CREATE INDEX task_runs_last_event_at ON task_runs(last_event_at);
CREATE INDEX task_runs_owner_key ON task_runs(owner_key);
CREATE INDEX task_runs_parent_flow_id ON task_runs(parent_flow_id);
CREATE INDEX task_runs_child_session_key ON task_runs(child_session_key);
CREATE INDEX task_runs_requester_session_key ON task_runs(requester_session_key);
"""
FLOW_RUNS_DDL = """
CREATE TABLE flow_runs (
  flow_id TEXT PRIMARY KEY, shape TEXT, sync_mode TEXT NOT NULL DEFAULT 'managed',
  owner_key TEXT NOT NULL, requester_origin_json TEXT, controller_id TEXT,
  revision INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, notify_policy TEXT NOT NULL,
  goal TEXT NOT NULL, current_step TEXT, blocked_task_id TEXT, blocked_summary TEXT,
  state_json TEXT, wait_json TEXT, cancel_requested_at INTEGER,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, ended_at INTEGER
) STRICT;
"""
DELIVERY_DDL = """
CREATE TABLE task_delivery_state (
  task_id TEXT PRIMARY KEY REFERENCES task_runs(task_id) ON DELETE CASCADE,
  requester_origin_json TEXT, last_notified_event_at INTEGER
) STRICT;
"""
# Releases 3.31 to 4.1 (tasks/runs.sqlite): no flows or delivery tables in the file, and
# none of these task columns.
OLDER_MISSING = ("task_kind", "source_id", "execution_owner_host", "execution_owner_pid",
                 "execution_owner_start_identity", "cleanup_after", "tool_use_count",
                 "last_tool_name", "terminal_outcome", "detail_json")


def new_id() -> str:
    return str(uuid.uuid4())


class OpenClawFile:
    """A ledger file written through its own sqlite3 connection, as the gateway would."""

    def __init__(self, path: Path, *, older: bool = False) -> None:
        self.path = path
        self.older = older
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=wal")
        self.conn.execute("PRAGMA synchronous=OFF")  # tests only: no fsync per commit
        self.conn.execute("PRAGMA foreign_keys=ON")
        ddl = TASK_RUNS_DDL
        if older:
            for col in OLDER_MISSING:
                ddl = ddl.replace(f" {col} INTEGER,", "").replace(f" {col} TEXT,", "")
                ddl = ddl.replace(f", {col} TEXT\n", "\n")
            ddl = "\n".join(line for line in ddl.splitlines()
                            if not any(f"({c})" in line for c in OLDER_MISSING))
        self.conn.executescript(ddl if older else ddl + FLOW_RUNS_DDL + DELIVERY_DDL)
        self.columns = {r[1] for r in self.conn.execute("PRAGMA table_info(task_runs)")}

    def add_task(self, *, task_id: str | None = None, **fields: Any) -> str:
        row: dict[str, Any] = {
            "task_id": task_id or new_id(), "runtime": "subagent", "owner_key": "agent:main:main",
            "scope_kind": "session", "task": "do the thing", "status": "queued",
            "delivery_status": "pending", "notify_policy": "done_only", "created_at": NOW - 5 * MIN,
        }
        row.update(fields)
        row = {k: v for k, v in row.items() if k in self.columns}
        cols = ", ".join(row)
        self.conn.execute(f"INSERT INTO task_runs ({cols}) VALUES ({', '.join('?' * len(row))})",
                          list(row.values()))
        return row["task_id"]

    def add_flow(self, *, flow_id: str | None = None, **fields: Any) -> str:
        row: dict[str, Any] = {
            "flow_id": flow_id or new_id(), "owner_key": "agent:main:main", "status": "running",
            "notify_policy": "done_only", "goal": "a goal", "created_at": NOW - HOUR,
            "updated_at": NOW - 10 * MIN,
        }
        row.update(fields)
        cols = ", ".join(row)
        self.conn.execute(f"INSERT INTO flow_runs ({cols}) VALUES ({', '.join('?' * len(row))})",
                          list(row.values()))
        return row["flow_id"]

    def add_delivery(self, task_id: str, *, origin: str | None = '{"channel":"discord"}',
                     notified_at: int | None = None) -> None:
        self.conn.execute("INSERT INTO task_delivery_state VALUES (?, ?, ?)", (task_id, origin, notified_at))

    def update_task(self, task_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE task_runs SET {sets} WHERE task_id = ?", [*fields.values(), task_id])

    def delete_task(self, task_id: str) -> None:
        self.conn.execute("DELETE FROM task_runs WHERE task_id = ?", (task_id,))

    def close(self) -> None:
        self.conn.close()


@dataclass
class Standard:
    """The ids of the standard ledger's records, by the role each plays."""

    path: Path
    file: OpenClawFile
    t: dict[str, str] = field(default_factory=dict)  # role -> task_id
    f: dict[str, str] = field(default_factory=dict)  # role -> flow_id

    @property
    def url(self) -> str:
        return f"openclaw://{self.path}"


def standard_ledger(path: Path) -> Standard:
    """Every status, runtime and delivery state, and the audit's anomalies (see the comments)."""
    fx = OpenClawFile(path)
    s = Standard(path, fx)
    T, F = s.t, s.f
    done = {"cleanup_after": NOW + 6 * 24 * HOUR}

    # A managed flow at work: one task running (fresh), one queued (fresh).
    F["running"] = fx.add_flow(goal="Nightly lead enrichment", shape="linear", controller_id="leads",
                               current_step="enrich", revision=4, created_at=NOW - 20 * MIN)
    T["run"] = fx.add_task(parent_flow_id=F["running"], runtime="subagent", label="enrich",
                           task="Enrich the leads", status="running", created_at=NOW - 10 * MIN,
                           started_at=NOW - 9 * MIN, last_event_at=NOW - 1 * MIN,
                           progress_summary="42 of 100 leads", execution_owner_host="gw1",
                           execution_owner_pid=4242, execution_owner_start_identity=123,
                           tool_use_count=7, last_tool_name="web_fetch", run_id="run-enrich",
                           child_session_key="agent:main:subagent:enrich")
    T["queued"] = fx.add_task(parent_flow_id=F["running"], runtime="acp", label="report",
                              task="Write the report", created_at=NOW - 2 * MIN)
    # Finished flows: succeeded; blocked (a run that succeeded with outcome blocked); cancelled.
    F["succeeded"] = fx.add_flow(goal="Weekly digest", status="succeeded", created_at=NOW - 3 * HOUR,
                                 updated_at=NOW - 2 * HOUR, ended_at=NOW - 2 * HOUR)
    T["ok"] = fx.add_task(parent_flow_id=F["succeeded"], runtime="cli", label="digest",
                          task="openclaw digest --weekly", status="succeeded", delivery_status="delivered",
                          created_at=NOW - 3 * HOUR, started_at=NOW - 3 * HOUR + MIN,
                          ended_at=NOW - 2 * HOUR, last_event_at=NOW - 2 * HOUR,
                          terminal_summary="digest sent", terminal_outcome="succeeded", **done)
    fx.add_delivery(T["ok"], notified_at=NOW - 2 * HOUR)
    T["blocked"] = new_id()
    F["blocked"] = fx.add_flow(goal="Refund review", status="blocked", blocked_task_id=T["blocked"],
                               blocked_summary="needs a human", created_at=NOW - 2 * HOUR,
                               updated_at=NOW - HOUR, ended_at=NOW - HOUR)
    fx.add_task(task_id=T["blocked"], parent_flow_id=F["blocked"], runtime="subagent", label="review",
                task="Review refunds", status="succeeded", terminal_outcome="blocked",
                delivery_status="session_queued", created_at=NOW - 2 * HOUR,
                started_at=NOW - 2 * HOUR, ended_at=NOW - HOUR, last_event_at=NOW - HOUR,
                terminal_summary="needs a human", **done)
    F["cancelled"] = fx.add_flow(goal="Abandoned crawl", status="cancelled", cancel_requested_at=NOW - 50 * MIN,
                                 created_at=NOW - HOUR, updated_at=NOW - 45 * MIN, ended_at=NOW - 45 * MIN)
    T["cancelled"] = fx.add_task(parent_flow_id=F["cancelled"], runtime="subagent", label="crawl",
                                 task="Crawl the site", status="cancelled", delivery_status="not_applicable",
                                 created_at=NOW - HOUR, started_at=NOW - HOUR, ended_at=NOW - 45 * MIN,
                                 error="cancelled by operator", **done)
    # A task_mirrored flow following its failed cron task, whose delivery failed (notify done_only).
    F["mirrored"] = fx.add_flow(goal="cron: backup", sync_mode="task_mirrored", shape="single_task",
                                status="failed", created_at=NOW - 4 * HOUR, updated_at=NOW - 3 * HOUR,
                                ended_at=NOW - 3 * HOUR)
    T["failed"] = fx.add_task(parent_flow_id=F["mirrored"], runtime="cron", label="backup",
                              task="Back up the notes", status="failed", delivery_status="failed",
                              created_at=NOW - 4 * HOUR, started_at=NOW - 4 * HOUR,
                              ended_at=NOW - 3 * HOUR, error="disk full", **done)
    # Flows with no tasks: queued with a cancel requested; waiting.
    F["cancel_pending"] = fx.add_flow(goal="Migrate the wiki", status="queued", cancel_requested_at=NOW - MIN,
                                      created_at=NOW - 30 * MIN, updated_at=NOW - MIN)
    F["waiting"] = fx.add_flow(goal="Plan the offsite", status="waiting", wait_json='{"until": "approval"}',
                               created_at=NOW - 40 * MIN, updated_at=NOW - 35 * MIN)

    # Standalone tasks (no parent_flow_id).
    T["timed_out"] = fx.add_task(runtime="acp", task="Summarize the thread", status="timed_out",
                                 delivery_status="parent_missing", created_at=NOW - 5 * HOUR,
                                 started_at=NOW - 5 * HOUR, ended_at=NOW - 4 * HOUR, **done)
    T["lost_retained"] = fx.add_task(runtime="subagent", label="lost-recent", status="lost",
                                     delivery_status="not_applicable", created_at=NOW - 6 * HOUR,
                                     started_at=NOW - 6 * HOUR, ended_at=NOW - 4 * HOUR,
                                     cleanup_after=NOW + 20 * HOUR, error="backing session missing")
    T["lost_expired"] = fx.add_task(runtime="subagent", label="lost-old", status="lost",
                                    delivery_status="not_applicable", created_at=NOW - 40 * HOUR,
                                    started_at=NOW - 40 * HOUR, ended_at=NOW - 30 * HOUR,
                                    cleanup_after=NOW - 6 * HOUR)
    T["lost_unstamped"] = fx.add_task(runtime="cli", label="lost-unstamped", status="lost",
                                      delivery_status="not_applicable", created_at=NOW - 3 * HOUR,
                                      started_at=NOW - 3 * HOUR, ended_at=NOW - 2 * HOUR)
    T["stale_queued"] = fx.add_task(runtime="cron", label="stale-queued", created_at=NOW - 15 * MIN)
    T["stale_running"] = fx.add_task(runtime="subagent", label="stale-running", status="running",
                                     created_at=NOW - 50 * MIN, started_at=NOW - 45 * MIN,
                                     last_event_at=NOW - 31 * MIN)
    T["missing_cleanup"] = fx.add_task(runtime="cli", label="no-cleanup", status="succeeded",
                                       delivery_status="delivered", created_at=NOW - 2 * HOUR,
                                       started_at=NOW - 2 * HOUR, ended_at=NOW - HOUR)
    T["end_before_start"] = fx.add_task(runtime="subagent", label="end-before-start", status="failed",
                                        delivery_status="not_applicable", created_at=NOW - 30 * MIN,
                                        started_at=NOW - 10 * MIN, ended_at=NOW - 20 * MIN, **done)
    T["running_with_end"] = fx.add_task(runtime="acp", label="running-with-end", status="running",
                                        created_at=NOW - 3 * MIN, started_at=NOW - 2 * MIN,
                                        last_event_at=NOW - MIN, ended_at=NOW - MIN)
    # Started before it was created: OpenClaw normalizes created_at, so NOT reported.
    T["start_before_create"] = fx.add_task(runtime="cli", label="early-start", status="succeeded",
                                           delivery_status="delivered", created_at=NOW - 5 * MIN,
                                           started_at=NOW - 7 * MIN, ended_at=NOW - 4 * MIN, **done)
    # Delivery failed but notify silent: NOT reported.
    T["silent_failed"] = fx.add_task(runtime="cron", label="silent", status="succeeded",
                                     delivery_status="failed", notify_policy="silent",
                                     created_at=NOW - 90 * MIN, started_at=NOW - 90 * MIN,
                                     ended_at=NOW - 80 * MIN, **done)
    # A retry chain: attempt 1 failed, attempt 2 (parent_task_id) succeeded.
    T["first_try"] = fx.add_task(runtime="subagent", label="flaky", status="failed",
                                 delivery_status="delivered", notify_policy="state_changes",
                                 created_at=NOW - 70 * MIN, started_at=NOW - 70 * MIN,
                                 ended_at=NOW - 65 * MIN, error="rate limited", **done)
    T["second_try"] = fx.add_task(runtime="subagent", label="flaky", status="succeeded",
                                  parent_task_id=T["first_try"], delivery_status="delivered",
                                  notify_policy="state_changes", created_at=NOW - 60 * MIN,
                                  started_at=NOW - 60 * MIN, ended_at=NOW - 55 * MIN, **done)
    return s


def older_release_ledger(path: Path) -> OpenClawFile:
    """task_runs without the optional columns newer releases added; no flow or delivery tables."""
    fx = OpenClawFile(path, older=True)
    fx.add_task(task_id="old-run", runtime="subagent", label="old running", status="running",
                created_at=NOW - 5 * MIN, started_at=NOW - 4 * MIN, last_event_at=NOW - MIN)
    fx.add_task(task_id="old-done", runtime="cli", task="ls -la", status="succeeded",
                delivery_status="delivered", created_at=NOW - HOUR, started_at=NOW - HOUR,
                ended_at=NOW - 50 * MIN)
    fx.add_task(task_id="old-lost", runtime="acp", label="old lost", status="lost",
                created_at=NOW - 3 * HOUR, started_at=NOW - 3 * HOUR, ended_at=NOW - 2 * HOUR)
    fx.add_task(task_id="old-stale", runtime="cron", label="old queued", created_at=NOW - 20 * MIN)
    return fx
