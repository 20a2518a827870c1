"""Time travel: the ledger as it was at a moment, rebuilt from the append-only event log.

Rows are copies of today's rows with every field that the event log can date put back
to its value at `at`: status, progress, summary, start and end times, cancel requests,
which attempt was the latest. Rows created after `at` do not exist yet. Nothing is
written; the result feeds the same renderers as the live ledger.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .states import TERMINAL_FLOW


@dataclass
class Snapshot:
    at: int
    flows: list[Any] = field(default_factory=list)
    tasks: list[Any] = field(default_factory=list)  # every attempt that existed at `at`
    events: list[Any] = field(default_factory=list)  # events up to `at`, oldest first

    def latest_tasks(self, flow_id: str | None = None) -> list[Any]:
        return [t for t in self.tasks if t.is_latest and (flow_id is None or t.flow_id == flow_id)]


def _parse_progress(detail: str | None) -> tuple[float | None, str | None]:
    if not detail:
        return None, None
    head, _, rest = detail.partition(" ")
    if head.endswith("%"):
        try:
            return float(head[:-1]), rest or None
        except ValueError:
            pass
    return None, detail


def state_at(ledger: Any, at: int, flow_id: str | None = None) -> Snapshot:
    """The flows and tasks as they were at `at` (ms), optionally for one flow only."""
    m = ledger.m
    flow_q = m.Flow.select().where(m.Flow.created_at <= at)
    task_q = m.Task.select().where(m.Task.created_at <= at)
    event_q = m.Event.select().where(m.Event.at <= at)
    if flow_id is not None:
        flow_q = flow_q.where(m.Flow.flow_id == flow_id)
        task_q = task_q.where(m.Task.flow == flow_id)
        event_q = event_q.where(m.Event.flow_id == flow_id)
    return rebuild(list(flow_q), list(task_q.order_by(m.Task.created_at, m.Task.attempt)),
                   list(event_q.order_by(m.Event.id)), at)


def rebuild(flow_rows: list[Any], task_rows: list[Any], events: list[Any], at: int) -> Snapshot:
    """The fold behind `state_at`, on rows already read: copies of the rows created by `at`,
    put back to their state after `events` (oldest first). The rows given are not changed,
    so a replay can call this again and again on one read (board/replay_screen.py)."""
    flows = {f.flow_id: copy.copy(f) for f in flow_rows if f.created_at <= at}
    tasks = {t.task_id: copy.copy(t) for t in task_rows if t.created_at <= at}
    events = [ev for ev in events if ev.at <= at]

    for task in tasks.values():
        _reset_task(task, at)
    for flow in flows.values():
        flow.cancel_requested_at = None
        flow.ended_at = None
        flow.updated_at = flow.created_at

    for ev in events:
        flow = flows.get(ev.flow_id)
        if flow is not None:
            flow.updated_at = ev.at
        task = tasks.get(ev.task_id) if ev.task_id else None
        if task is None:
            if flow is None:
                continue
            if ev.kind == "flow_status" and ev.to_status:
                flow.status = ev.to_status
                flow.ended_at = ev.at if ev.to_status in TERMINAL_FLOW else None
            elif ev.kind == "submitted" and ev.to_status:
                flow.status = ev.to_status
            elif ev.kind == "cancel_requested":
                flow.cancel_requested_at = ev.at
            elif ev.kind == "reopened":
                flow.cancel_requested_at = None
            continue
        _apply_task_event(task, ev)

    for task in tasks.values():
        task.status = task.status or "queued"  # a row with no event yet was just added

    # Which attempt was the latest at `at`: the highest attempt of each label that existed.
    newest: dict[tuple[str, str], Any] = {}
    for task in tasks.values():
        key = (task.flow_id, task.label)
        if key not in newest or task.attempt > newest[key].attempt:
            newest[key] = task
    for task in tasks.values():
        task.is_latest = newest[(task.flow_id, task.label)] is task

    return Snapshot(at=at, flows=sorted(flows.values(), key=lambda f: f.created_at, reverse=True),
                    tasks=list(tasks.values()), events=events)


def _reset_task(task: Any, at: int) -> None:
    """Forget everything about a task that the events will tell again."""
    task.status = None
    task.progress = None
    task.progress_summary = None
    task.cancel_requested_at = None
    for name in ("started_at", "ended_at"):
        value = getattr(task, name)
        if value is not None and value > at:
            setattr(task, name, None)
    if task.ended_at is None:
        task.exit_code = None
        task.error = None
        task.terminal_summary = None
    if task.started_at is None:
        task.pid = None
        task.supervisor_id = None
        task.host = None


def _apply_task_event(task: Any, ev: Any) -> None:
    if ev.to_status:
        task.status = ev.to_status
    if ev.kind == "progress":
        pct, text = _parse_progress(ev.detail)
        if pct is not None:
            task.progress = pct
        if text is not None:
            task.progress_summary = text
    elif ev.kind == "cancel_requested":
        task.cancel_requested_at = ev.at
    task.last_event_at = ev.at
