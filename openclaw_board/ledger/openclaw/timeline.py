"""Events for a ledger that keeps no event log: derived timelines, and a journal of changes.

OpenClaw stores no history, only each record's timestamps. So:

* `task_events` / `flow_events` synthesize a timeline from them: created (task_added),
  started, the last event seen (progress), the end (finished / cancelled / lost), delivery.
* `events_since` / `last_event_id` (how the board notices changes) come from a journal
  kept in this process. Change detection is `PRAGMA data_version`, which SQLite bumps on our
  connection each time another connection (the gateway) commits; only then is the ledger
  read again and compared with the previous read, and each difference (a new record, a
  status change, new progress, a delivery change, a pruned record) becomes a journal event
  with a new id. The journal is seeded, on the first read, with the timelines of every
  record, so ids only grow and a reader can resume from any id it was given.
"""

from __future__ import annotations

from collections.abc import Iterable

from .openclaw_tables import EventRow, FlowRow, TaskRow
from .snapshot import Snapshot

JOURNAL_LIMIT = 20_000
# Events at the same millisecond keep the order of a life: created before started, etc.
_RANK = {"submitted": 0, "task_added": 1, "started": 2, "status": 3, "progress": 3, "updated": 3,
         "cancel_requested": 4, "finished": 5, "cancelled": 5, "lost": 5, "delivery": 6,
         "flow_status": 7, "pruned": 8}


def _order(ev: EventRow) -> tuple[int, int, str]:
    return ev.at, _RANK.get(ev.kind, 3), ev.task_id or ""


def _end_kind(status: str) -> str:
    return {"cancelled": "cancelled", "lost": "lost"}.get(status, "finished")


def task_timeline(task: TaskRow) -> list[EventRow]:
    """The events a task's timestamps tell, oldest first (ids are positions in this list)."""
    out: list[EventRow] = []

    def add(at: int | None, kind: str, src: str | None, dst: str | None, detail: str | None) -> None:
        if at is not None:
            out.append(EventRow(0, at, task.flow_id, task.task_id, kind, src, dst, detail=detail))

    add(task.created_at, "task_added", None, "queued", f"{task.runtime} task")
    if task.started_at is not None:
        add(task.started_at, "started", "queued", "running",
            f"pid {task.pid} on {task.host}" if task.pid else None)
    ends = task.ended_at
    if task.last_event_at is not None and task.last_event_at not in (task.created_at, task.started_at, ends):
        add(task.last_event_at, "progress", None, None, task.progress_summary or task.last_tool_name)
    if task.raw_status not in ("queued", "running") or ends is not None:
        if ends is None:
            ends = task.last_event_at or task.started_at or task.created_at
        src = "running" if task.started_at is not None else "queued"
        detail = task.terminal_summary or task.error
        if task.raw_status in ("queued", "running"):
            detail = f"end time recorded while {task.raw_status}"
        add(ends, _end_kind(task.status), src, task.status, detail)
    if task.last_notified_event_at is not None or task.delivery_status in ("delivered", "failed", "parent_missing"):
        add(task.last_notified_event_at or ends, "delivery", None, None, f"delivery {task.delivery_status}")
    out.sort(key=_order)
    for i, ev in enumerate(out, 1):
        ev.id = i
    return out


def flow_timeline(flow: FlowRow) -> list[EventRow]:
    out = [EventRow(0, flow.created_at, flow.flow_id, None, "submitted", None, "queued", detail=flow.goal)]
    if flow.cancel_requested_at is not None:
        out.append(EventRow(0, flow.cancel_requested_at, flow.flow_id, None, "cancel_requested"))
    if flow.ended_at is not None:
        out.append(EventRow(0, flow.ended_at, flow.flow_id, None, "flow_status", None, flow.status,
                            detail=flow.blocked_summary))
    return out


def merged(events: Iterable[EventRow]) -> list[EventRow]:
    """Events of several timelines in time order, numbered 1..n."""
    out = sorted(events, key=_order)
    for i, ev in enumerate(out, 1):
        ev.id = i
    return out


def _task_changes(old: TaskRow, new: TaskRow, now: int) -> list[EventRow]:
    out: list[EventRow] = []

    def add(at: int | None, kind: str, src: str | None = None, dst: str | None = None,
            detail: str | None = None) -> None:
        out.append(EventRow(0, at or now, new.flow_id, new.task_id, kind, src, dst, detail=detail))

    if old.status != new.status:
        if new.status == "running":
            add(new.started_at, "started", old.status, new.status)
        elif new.raw_status in ("queued", "running"):
            add(new.last_event_at, "status", old.status, new.status)
        else:
            add(new.ended_at or new.last_event_at, _end_kind(new.status), old.status, new.status,
                new.terminal_summary or new.error)
    elif (old.progress_summary, old.last_event_at, old.tool_use_count) != (
            new.progress_summary, new.last_event_at, new.tool_use_count):
        add(new.last_event_at, "progress", detail=new.progress_summary or new.last_tool_name)
    if old.delivery_status != new.delivery_status:
        add(new.last_notified_event_at, "delivery", detail=f"delivery {new.delivery_status}")
    if not out and old != new:
        add(new.last_event_at, "updated")
    return out


def _flow_changes(old: FlowRow, new: FlowRow, now: int) -> list[EventRow]:
    out: list[EventRow] = []
    if old.cancel_requested_at is None and new.cancel_requested_at is not None:
        out.append(EventRow(0, new.cancel_requested_at, new.flow_id, None, "cancel_requested"))
    if old.status != new.status:
        out.append(EventRow(0, new.updated_at or now, new.flow_id, None, "flow_status", old.status, new.status,
                            detail=new.blocked_summary))
    return out


def diff(old: Snapshot, new: Snapshot, now: int) -> list[EventRow]:
    """What changed between two reads, as events (ids not yet assigned)."""
    out: list[EventRow] = []
    for flow_id, flow in new.flows.items():
        before = old.flows.get(flow_id)
        if before is None:
            out.extend(flow_timeline(flow)[:1])
        else:
            out.extend(_flow_changes(before, flow, now))
    for task_id, task in new.tasks.items():
        was = old.tasks.get(task_id)
        out.extend(task_timeline(task) if was is None else _task_changes(was, task, now))
    for task_id, task in old.tasks.items():
        if task_id not in new.tasks:
            out.append(EventRow(0, now, task.flow_id, task_id, "pruned", task.status, None,
                                detail="record removed from the OpenClaw ledger"))
    for flow_id, flow in old.flows.items():
        if flow_id not in new.flows:
            out.append(EventRow(0, now, flow_id, None, "pruned", flow.status, None))
    return sorted(out, key=_order)


class Journal:
    """Events seen by this process, with ids that only grow."""

    def __init__(self) -> None:
        self.events: list[EventRow] = []
        self.last_id = 0

    def append(self, events: Iterable[EventRow]) -> None:
        for ev in events:
            self.last_id += 1
            ev.id = self.last_id
            self.events.append(ev)
        if len(self.events) > JOURNAL_LIMIT:
            del self.events[: len(self.events) - JOURNAL_LIMIT]

    def since(self, after_id: int, limit: int) -> list[EventRow]:
        if not self.events or after_id >= self.last_id:
            return []
        first = self.events[0].id
        start = max(0, after_id + 1 - first)
        return self.events[start: start + limit]
