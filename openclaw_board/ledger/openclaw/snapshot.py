"""One consistent read of the whole OpenClaw ledger, turned into our rows.

OpenClaw keeps its records for days, not forever (LEDGER.md: pruned 7 days after they
end), so a ledger holds hundreds to a few thousand rows: reading it whole in one short
read transaction is cheap, gives every list and count the same moment, and is the only way
to derive what OpenClaw does not store (attempt numbers and which attempt is the latest,
from the retry chains of parent_task_id).

Tasks with no parent_flow_id (most OpenClaw runs) get a one-task flow of their own, keyed
by the first attempt's task id and marked `standalone`, the way OpenClaw's task_mirrored
flows follow a single task; a retry joins its first attempt's flow. Those flows are shown
on the board and in `flows list`, but the TaskFlow pressure counts flow_runs only, as
OpenClaw does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import peewee as pw

from ..states import derive_flow_status
from .openclaw_tables import FlowRow, Schema, TaskRow
from .rules import TERMINAL_TASK, mirrored_flow_status, normalized_times, shown_status

LABEL_CHARS = 60


@dataclass
class Snapshot:
    tasks: dict[str, TaskRow] = field(default_factory=dict)  # every record
    flows: dict[str, FlowRow] = field(default_factory=dict)  # flow_runs + standalone ones
    real_flow_ids: frozenset[str] = frozenset()

    def flow_tasks(self, flow_id: str) -> list[TaskRow]:
        return [t for t in self.tasks.values() if t.flow_id == flow_id]


def _rows(db: pw.SqliteDatabase, query: pw.Select) -> list[dict]:
    # The model writes the SQL; the rows skip Peewee's per-value conversion (INTEGER and
    # TEXT come out of sqlite3 as they are), which was half the cost of a read.
    cursor = db.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_rows(db: pw.SqliteDatabase, schema: Schema) -> tuple[list[dict], list[dict], dict[str, dict]]:
    """Every task, flow and delivery row, in one read transaction."""
    with db.atomic():  # BEGIN (deferred): a read snapshot, released at once
        tasks = _rows(db, schema.Task.select())
        flows = _rows(db, schema.Flow.select()) if schema.Flow is not None else []
        delivery = ({d["task_id"]: d for d in _rows(db, schema.Delivery.select())}
                    if schema.Delivery is not None else {})
    return tasks, flows, delivery


def _label(raw: dict) -> str:
    if raw.get("label"):
        return str(raw["label"])
    text = " ".join(str(raw.get("task") or "").split())
    if text:
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
    return str(raw.get("task_kind") or raw.get("runtime") or "task")


def _task_row(raw: dict, delivery: dict | None) -> TaskRow:
    status = str(raw["status"])
    outcome = raw.get("terminal_outcome")
    created, started, ended, last_event = normalized_times(
        status, raw["created_at"], raw.get("started_at"), raw.get("ended_at"), raw.get("last_event_at"))
    text = str(raw.get("task") or "")
    row = TaskRow(
        task_id=raw["task_id"], flow_id="", label=_label(raw), runtime=str(raw.get("runtime") or "unknown"),
        status=shown_status(status, outcome), attempt=1, parent_task_id=raw.get("parent_task_id"),
        is_latest=True, command_json=json.dumps(text),
        # The times as OpenClaw reads them (rules.normalized_times); raw_created_at keeps the column.
        created_at=created, started_at=started, ended_at=ended, last_event_at=last_event,
        error=raw.get("error"), progress_summary=raw.get("progress_summary"),
        terminal_summary=raw.get("terminal_summary"), host=raw.get("execution_owner_host"),
        pid=raw.get("execution_owner_pid"), pid_start=raw.get("execution_owner_start_identity"),
        raw_status=status, raw_label=raw.get("label"), raw_created_at=raw["created_at"], terminal_outcome=outcome,
        parent_flow_id=raw.get("parent_flow_id"), task=text,
    )
    for name in ("task_kind", "source_id", "delivery_status", "notify_policy", "owner_key", "scope_kind",
                 "requester_session_key", "child_session_key", "agent_id", "requester_agent_id", "run_id",
                 "cleanup_after", "tool_use_count", "last_tool_name", "detail_json"):
        setattr(row, name, raw.get(name))
    if delivery:
        row.requester_origin_json = delivery.get("requester_origin_json")
        row.last_notified_event_at = delivery.get("last_notified_event_at")
    return row


def _flow_row(raw: dict) -> FlowRow:
    notify = str(raw.get("notify_policy") or "done_only")
    return FlowRow(
        flow_id=raw["flow_id"], goal=str(raw.get("goal") or ""), label=None, status=str(raw["status"]),
        notify=notify, notify_policy=raw.get("notify_policy"), created_at=raw["created_at"],
        updated_at=raw.get("updated_at") or raw["created_at"], ended_at=raw.get("ended_at"),
        cancel_requested_at=raw.get("cancel_requested_at"), blocked_task_id=raw.get("blocked_task_id"),
        revision=raw.get("revision") or 0, shape=raw.get("shape"), sync_mode=raw.get("sync_mode"),
        owner_key=raw.get("owner_key"), controller_id=raw.get("controller_id"),
        current_step=raw.get("current_step"), blocked_summary=raw.get("blocked_summary"),
        state_json=raw.get("state_json"), wait_json=raw.get("wait_json"),
        requester_origin_json=raw.get("requester_origin_json"),
    )


def _chain_root(task: TaskRow, tasks: dict[str, TaskRow]) -> TaskRow:
    seen = {task.task_id}
    while task.parent_task_id is not None and task.parent_task_id in tasks and task.parent_task_id not in seen:
        task = tasks[task.parent_task_id]
        seen.add(task.task_id)
    return task


def _number_attempts(tasks: dict[str, TaskRow]) -> None:
    children = {t.parent_task_id for t in tasks.values() if t.parent_task_id in tasks}
    for task in tasks.values():
        task.is_latest = task.task_id not in children
        depth, cur, seen = 1, task, {task.task_id}
        while cur.parent_task_id is not None and cur.parent_task_id in tasks and cur.parent_task_id not in seen:
            cur = tasks[cur.parent_task_id]
            seen.add(cur.task_id)
            depth += 1
        task.attempt = depth


def _standalone_flow(flow_id: str, members: list[TaskRow], known_missing: bool) -> FlowRow:
    first = min(members, key=lambda t: (t.created_at, t.attempt))
    latest = [t for t in members if t.is_latest]
    if len(latest) == 1:
        status = mirrored_flow_status(latest[0].raw_status, latest[0].terminal_outcome)
    else:
        status = derive_flow_status((t.status for t in latest), False)
    newest = max(latest or members, key=lambda t: (t.created_at, t.attempt))
    terminal = all(t.raw_status in TERMINAL_TASK for t in latest)
    # As OpenClaw's mirrored flows time themselves: updated at the last event, ended when the task did.
    ended = (newest.ended_at or newest.last_event_at or newest.created_at) if terminal else None
    goal = (f"flow {flow_id[:8]} (not in flow_runs)" if known_missing
            else " ".join(first.task.split()) or first.label)
    return FlowRow(
        flow_id=flow_id, goal=goal, label=first.raw_label, status=status,
        notify=newest.notify_policy or "done_only", notify_policy=newest.notify_policy,
        created_at=first.created_at, updated_at=ended or newest.last_event_at or newest.created_at,
        ended_at=ended, blocked_task_id=newest.task_id if status == "blocked" else None,
        standalone=True, sync_mode="standalone", owner_key=newest.owner_key,
    )


def build(raw_tasks: list[dict], raw_flows: list[dict], delivery: dict[str, dict]) -> Snapshot:
    tasks = {r["task_id"]: _task_row(r, delivery.get(r["task_id"])) for r in raw_tasks}
    flows = {r["flow_id"]: _flow_row(r) for r in raw_flows}
    _number_attempts(tasks)
    groups: dict[str, list[TaskRow]] = {}
    for task in tasks.values():
        root = _chain_root(task, tasks)
        task.flow_id = task.parent_flow_id or root.parent_flow_id or root.task_id
        groups.setdefault(task.flow_id, []).append(task)
    real = frozenset(flows)
    for flow_id, members in groups.items():
        if flow_id not in flows:
            known_missing = any(t.parent_flow_id == flow_id for t in members)
            flows[flow_id] = _standalone_flow(flow_id, members, known_missing)
    return Snapshot(tasks=tasks, flows=flows, real_flow_ids=real)


def snapshot_of(db: pw.SqliteDatabase, schema: Schema) -> Snapshot:
    return build(*read_rows(db, schema))

