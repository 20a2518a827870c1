"""Immutable copies of ledger rows, made on the service thread and drawn on the UI thread.

Peewee rows are not shared between threads; these frozen dataclasses are, and they compare
by value, which is what lets the board tell "nothing changed" from "redraw this row".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ...ledger.api import TaskRecord
from ...ledger.states import TERMINAL_TASK


@dataclass(frozen=True)
class TaskView:
    task_id: str
    flow_id: str
    label: str
    runtime: str
    status: str
    attempt: int
    created_at: int
    started_at: int | None
    ended_at: int | None
    progress: float | None
    progress_summary: str | None
    error: str | None
    terminal_summary: str | None
    exit_code: int | None
    cancel_requested_at: int | None
    not_before: int | None
    after: tuple[str, ...] = ()
    approval_timeout_s: float | None = None  # denied when not approved within this (ours only)
    last_progress_at: int | None = None  # its last event while running: the ETA's rate ends there

    @classmethod
    def of(cls, t: TaskRecord) -> TaskView:
        return cls(
            task_id=t.task_id, flow_id=t.flow_id, label=t.label, runtime=t.runtime, status=t.status,
            attempt=t.attempt, created_at=t.created_at, started_at=t.started_at, ended_at=t.ended_at,
            progress=t.progress, progress_summary=t.progress_summary, error=t.error,
            terminal_summary=t.terminal_summary, exit_code=t.exit_code,
            cancel_requested_at=t.cancel_requested_at, not_before=t.not_before,
            after=tuple(json.loads(t.after_json or "[]")),
            approval_timeout_s=t.approval_timeout_s,
            last_progress_at=t.last_event_at if t.status == "running" else None,
        )


@dataclass(frozen=True)
class FlowView:
    flow_id: str
    goal: str
    label: str | None
    status: str
    cancel_requested_at: int | None
    created_at: int
    updated_at: int
    ended_at: int | None
    counts: tuple[tuple[str, int], ...] = ()
    source: str | None = None  # which ledger, when the board watches several

    @classmethod
    def of(cls, f: Any, counts: dict[str, int], source: str | None = None) -> FlowView:
        return cls(
            flow_id=f.flow_id, goal=f.goal, label=f.label, status=f.status,
            cancel_requested_at=f.cancel_requested_at, created_at=f.created_at,
            updated_at=f.updated_at, ended_at=f.ended_at, counts=tuple(sorted(counts.items())),
            source=source,
        )

    # Cached: rows, bars and sorts ask a big board's flows for these on every change.
    @cached_property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @cached_property
    def finished(self) -> int:
        """Tasks (latest attempts) that reached a terminal status."""
        return self.count(*TERMINAL_TASK)

    def count(self, *statuses: str) -> int:
        return sum(n for s, n in self.counts if s in statuses)


@dataclass(frozen=True)
class SupervisorView:
    supervisor_id: str
    host: str
    mode: str
    heartbeat_at: int
    lease_ms: int
    stopped_at: int | None

    @classmethod
    def of(cls, s: Any) -> SupervisorView:
        return cls(s.supervisor_id, s.host, s.mode, s.heartbeat_at, s.lease_ms, s.stopped_at)

    def alive(self, now: int) -> bool:
        return self.stopped_at is None and now - self.heartbeat_at <= self.lease_ms


@dataclass(frozen=True)
class Row:
    """One line of the main list: a flow, one of its tasks, or the "older flows" pager."""

    kind: str  # "flow" | "task" | "more"
    key: str  # "f:<flow_id>", "t:<flow_id>:<label>", "more"
    flow: FlowView | None = None
    task: TaskView | None = None
    expanded: bool = False
    last_child: bool = False
    more: int = 0
    flat: bool = False  # a task of the flat view: no tree lines, its flow's goal beside it
    progress: float | None = None  # a live flow's aggregate progress (percent)


@dataclass(frozen=True)
class ViewSpec:
    """What the operator asked to see: the filter, the sort, the expanded flows, the page."""

    status: str = "all"  # all | active | issues | blocked
    text: str = ""
    sort: str = "status"  # one of view/sorting.py's SORTS
    reverse: bool = False  # the sort's other direction
    expanded: frozenset[str] = frozenset()
    collapsed: frozenset[str] = frozenset()  # auto-expanded flows the operator closed
    terminal_limit: int = 200
    flat: bool = False  # every latest task as a row, across flows


@dataclass(frozen=True)
class Pressure:
    flows: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    undelivered: int = 0  # results not (yet) delivered: pending or given up (ours only)


@dataclass(frozen=True)
class Board:
    """Everything the main screen draws, as of one moment of the ledger."""

    rows: tuple[Row, ...]
    pressure: Pressure
    supervisors: tuple[SupervisorView, ...]
    last_event_id: int
