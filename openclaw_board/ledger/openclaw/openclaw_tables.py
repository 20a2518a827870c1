"""Peewee models mapped onto OpenClaw's tables, and the rows the board and CLI read.

The models are built per database from the columns that actually exist (older OpenClaw
releases lack some), so a query never names a missing column. They are only ever used to
SELECT: the connection is read-only and nothing here knows how to write.

Rows are plain dataclasses with the attribute names of our own Task and Flow models
(`openclaw_board.ledger.models`), so `serialize.task_dict` / `flow_dict` and the renderers
take them as they are, plus OpenClaw's own columns as extras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from ..clock import iso

INT, TEXT = "int", "text"

# Every column LEDGER.md lists, with its type. Columns not here (a newer release) are ignored.
TASK_COLUMNS: dict[str, str] = {
    "task_id": TEXT, "runtime": TEXT, "task_kind": TEXT, "source_id": TEXT,
    "requester_session_key": TEXT, "owner_key": TEXT, "scope_kind": TEXT, "child_session_key": TEXT,
    "parent_flow_id": TEXT, "parent_task_id": TEXT, "agent_id": TEXT, "requester_agent_id": TEXT,
    "run_id": TEXT, "execution_owner_host": TEXT, "execution_owner_pid": INT,
    "execution_owner_start_identity": INT, "label": TEXT, "task": TEXT, "status": TEXT,
    "delivery_status": TEXT, "notify_policy": TEXT, "created_at": INT, "started_at": INT,
    "ended_at": INT, "last_event_at": INT, "cleanup_after": INT, "tool_use_count": INT,
    "last_tool_name": TEXT, "error": TEXT, "progress_summary": TEXT, "terminal_summary": TEXT,
    "terminal_outcome": TEXT, "detail_json": TEXT,
}
FLOW_COLUMNS: dict[str, str] = {
    "flow_id": TEXT, "shape": TEXT, "sync_mode": TEXT, "owner_key": TEXT,
    "requester_origin_json": TEXT, "controller_id": TEXT, "revision": INT, "status": TEXT,
    "notify_policy": TEXT, "goal": TEXT, "current_step": TEXT, "blocked_task_id": TEXT,
    "blocked_summary": TEXT, "state_json": TEXT, "wait_json": TEXT, "cancel_requested_at": INT,
    "created_at": INT, "updated_at": INT, "ended_at": INT,
}
DELIVERY_COLUMNS: dict[str, str] = {
    "task_id": TEXT, "requester_origin_json": TEXT, "last_notified_event_at": INT,
}
# Without these a table cannot be read meaningfully; everything else is optional.
REQUIRED_TASK_COLUMNS = frozenset({"task_id", "status", "created_at"})
REQUIRED_FLOW_COLUMNS = frozenset({"flow_id", "status", "created_at"})


def _field(kind: str, primary: bool) -> pw.Field:
    if kind == INT:
        return pw.BigIntegerField(null=True)
    if primary:
        return pw.TextField(primary_key=True)
    return pw.TextField(null=True)


def build_model(db: pw.Database, table: str, known: dict[str, str], present: set[str],
                pk: str, schema: str | None = None) -> type[pw.Model]:
    """A read-only model of `table` (in attached database `schema`, if given) with a field for
    each known column that exists."""
    attrs: dict[str, Any] = {
        name: _field(kind, name == pk) for name, kind in known.items() if name in present
    }
    attrs["Meta"] = type("Meta", (), {"database": db, "table_name": table, "schema": schema})
    return type(f"OpenClaw_{table}", (pw.Model,), attrs)


@dataclass(frozen=True)
class Schema:
    """What the file holds: the models of the tables that exist, and their columns."""

    task_columns: frozenset[str]
    flow_columns: frozenset[str]
    delivery_columns: frozenset[str]
    Task: type[pw.Model]
    Flow: type[pw.Model] | None
    Delivery: type[pw.Model] | None
    flows_attached: bool = False  # an older release's flows/registry.sqlite is attached as `flows`

    @property
    def has_cleanup_after(self) -> bool:
        return "cleanup_after" in self.task_columns


@dataclass
class TaskRow:
    """One task_runs record, named like our Task model (+ OpenClaw's own columns)."""

    task_id: str
    flow_id: str  # the flow it belongs to; a standalone task's own one-task flow
    label: str
    runtime: str
    status: str  # as shown: `succeeded` + terminal_outcome `blocked` is `blocked`
    attempt: int
    parent_task_id: str | None
    is_latest: bool
    command_json: str  # the instruction text, as a JSON string
    created_at: int
    started_at: int | None = None
    ended_at: int | None = None
    last_event_at: int | None = None
    error: str | None = None
    progress_summary: str | None = None
    terminal_summary: str | None = None
    host: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    # Our columns that OpenClaw does not have.
    exit_code: int | None = None
    progress: float | None = None
    cancel_requested_at: int | None = None
    supervisor_id: str | None = None
    run_dir: str | None = None
    log_tail: str | None = None
    shell: bool = False
    cwd: str | None = None
    env_json: str | None = None
    timeout_s: float | None = None
    retries: int = 0
    retry_backoff_s: float = 0.0
    after_json: str = "[]"
    requires_approval: bool = False
    approval_timeout_s: float | None = None
    approved_at: int | None = None
    not_before: int | None = None
    owner_token: int | None = None
    # OpenClaw's own.
    raw_status: str = ""
    raw_label: str | None = None
    raw_created_at: int = 0
    terminal_outcome: str | None = None
    parent_flow_id: str | None = None
    task: str = ""
    task_kind: str | None = None
    source_id: str | None = None
    delivery_status: str | None = None
    notify_policy: str | None = None
    owner_key: str | None = None
    scope_kind: str | None = None
    requester_session_key: str | None = None
    child_session_key: str | None = None
    agent_id: str | None = None
    requester_agent_id: str | None = None
    run_id: str | None = None
    cleanup_after: int | None = None
    tool_use_count: int | None = None
    last_tool_name: str | None = None
    detail_json: str | None = None
    requester_origin_json: str | None = None
    last_notified_event_at: int | None = None
    source: str = "openclaw"
    external_answer: str | None = None  # what `openclaw ...` answered, after an action

    def extra_fields(self) -> dict[str, Any]:
        """OpenClaw's own columns that our task shape has no place for, for `show` views."""
        return {
            "delivery_status": self.delivery_status, "notify_policy": self.notify_policy,
            "terminal_outcome": self.terminal_outcome, "raw_status": self.raw_status,
            "owner_key": self.owner_key, "scope_kind": self.scope_kind, "task_kind": self.task_kind,
            "run_id": self.run_id, "agent_id": self.agent_id,
            "requester_session_key": self.requester_session_key,
            "child_session_key": self.child_session_key, "tool_use_count": self.tool_use_count,
            "last_tool_name": self.last_tool_name, "cleanup_after": iso(self.cleanup_after),
            "last_notified_event_at": iso(self.last_notified_event_at),
        }


@dataclass
class FlowRow:
    """One flow_runs record, or the one-task flow we show for a task that has none."""

    flow_id: str
    goal: str
    label: str | None
    status: str
    notify: str
    created_at: int
    updated_at: int
    ended_at: int | None = None
    cancel_requested_at: int | None = None
    blocked_task_id: str | None = None
    spec_source: str | None = None
    revision: int = 0
    # OpenClaw's own.
    standalone: bool = False  # True: not in flow_runs, shown so the task has a home
    notify_policy: str | None = None
    shape: str | None = None
    sync_mode: str | None = None
    owner_key: str | None = None
    controller_id: str | None = None
    current_step: str | None = None
    blocked_summary: str | None = None
    state_json: str | None = None
    wait_json: str | None = None
    requester_origin_json: str | None = None
    source: str = "openclaw"
    external_answer: str | None = None

    def extra_fields(self) -> dict[str, Any]:
        """OpenClaw's own flow columns that our flow shape has no place for."""
        return {
            "notify_policy": self.notify_policy, "shape": self.shape, "sync_mode": self.sync_mode,
            "owner_key": self.owner_key, "controller_id": self.controller_id,
            "current_step": self.current_step, "blocked_summary": self.blocked_summary,
            "standalone": self.standalone,
        }


@dataclass
class EventRow:
    """An event as our Event model names it; OpenClaw keeps no event log, these are derived."""

    id: int
    at: int
    flow_id: str
    task_id: str | None
    kind: str
    from_status: str | None = None
    to_status: str | None = None
    actor: str = "openclaw"
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
