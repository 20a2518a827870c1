"""Reads what the board shows, on the service thread: a full load, then only what changed.

The event log's ids make "what changed" cheap: `events_since(last_id)` names the flows to
re-read, everything else stays as it was. Rows are rebuilt from the cached views and
compared with the previous ones, so a change nobody can see costs no redraw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import peewee as pw

from ...ledger.api import BoardReads
from ..view.model import Board, FlowView, Pressure, Row, SupervisorView, TaskView, ViewSpec
from ..view.rows import build_rows, expanded_flows
from ..view.sorting import sort_flows

ACTIVE_CAP = 5000  # live flows beyond this are still counted in the header, not listed
CHUNK = 500  # ids per IN (...) clause


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


class Reader:
    def __init__(self, ledger: BoardReads) -> None:
        self.ledger = ledger
        self.flows: dict[str, FlowView] = {}
        self.tasks: dict[str, tuple[TaskView, ...]] = {}
        self.more = 0
        self.last_id = 0
        self.pressure = Pressure()
        self.supervisors: tuple[SupervisorView, ...] = ()
        self.rows: tuple[Row, ...] = ()
        self.spec = ViewSpec()

    # -- queries --------------------------------------------------------------------

    def _counts(self, ids: list[str]) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for chunk in _chunks(ids):
            counts.update(self.ledger.task_counts(chunk))
        return counts

    def _load_tasks(self, ids: list[str]) -> dict[str, tuple[TaskView, ...]]:
        out: dict[str, tuple[TaskView, ...]] = {}
        for chunk in _chunks(ids):
            for flow_id, tasks in self.ledger.latest_tasks_of(chunk).items():
                out[flow_id] = tuple(TaskView.of(t) for t in tasks)
        return out

    def _source(self, flow_id: str) -> str | None:
        """Where a flow comes from, when the board watches several ledgers side by side."""
        return self.ledger.source_of(flow_id)

    def _read_pressure(self) -> Pressure:
        return Pressure(flows=self.ledger.flow_pressure(), tasks=self.ledger.task_pressure(),
                        undelivered=self.ledger.undelivered_count())

    def _read_supervisors(self) -> tuple[SupervisorView, ...]:
        return tuple(SupervisorView.of(s) for s in self.ledger.supervisors()[:20])

    # -- loading --------------------------------------------------------------------

    def full(self, spec: ViewSpec) -> Board:
        """Everything, from scratch (first frame, a new filter, after the ledger came back)."""
        self.spec = spec
        self.last_id = self.ledger.last_event_id()
        active, terminal, self.more = self.ledger.board_flows(
            spec.status, spec.text, active_cap=ACTIVE_CAP, terminal_limit=spec.terminal_limit)
        raw = [*active, *terminal]
        counts = self._counts([f.flow_id for f in raw])
        self.flows = {f.flow_id: FlowView.of(f, counts.get(f.flow_id, {}), self._source(f.flow_id)) for f in raw}
        self.tasks = {}
        ordered = self._ensure_tasks()
        self.pressure = self._read_pressure()
        self.supervisors = self._read_supervisors()
        self.rows = build_rows(self.flows, self.tasks, spec, self.more, ordered)
        return self.board()

    def _ensure_tasks(self) -> list[FlowView]:
        """Read the tasks of the flows the view opens; the flows in the view's order."""
        ordered = sort_flows(list(self.flows.values()), self.spec.sort, self.spec.reverse)
        want = expanded_flows(ordered, self.spec)
        missing = [i for i in want if i in self.flows and i not in self.tasks]
        if missing:
            self.tasks.update(self._load_tasks(missing))
        for stale in [i for i in self.tasks if i not in want]:
            del self.tasks[stale]
        return ordered

    def board(self) -> Board:
        return Board(self.rows, self.pressure, self.supervisors, self.last_id)

    def change_view(self, spec: ViewSpec) -> Board:
        """Expand/collapse or sort: no new query unless the filter or the page changed."""
        old = self.spec
        if (spec.status, spec.text, spec.terminal_limit) != (old.status, old.text, old.terminal_limit):
            return self.full(spec)
        self.spec = spec
        ordered = self._ensure_tasks()
        self.rows = build_rows(self.flows, self.tasks, spec, self.more, ordered)
        return self.board()

    def refresh(self) -> Board | None:
        """What changed since the last read; None when nothing the board draws did."""
        events = self.ledger.events_since(self.last_id, limit=5000)
        supervisors = self._read_supervisors()
        sup_changed = supervisors != self.supervisors
        self.supervisors = supervisors
        if len(events) >= 5000:
            return self.full(self.spec)
        if not events:
            # A delivery sent or given up writes no event: its count is looked at on its own.
            undelivered = self.ledger.undelivered_count()
            if undelivered != self.pressure.undelivered:
                self.pressure = replace(self.pressure, undelivered=undelivered)
                return self.board()
            return self.board() if sup_changed else None
        self.last_id = events[-1].id
        changed = sorted({e.flow_id for e in events})
        ordered = self._reload_flows(changed)
        old_pressure, self.pressure = self.pressure, self._read_pressure()
        rows = build_rows(self.flows, self.tasks, self.spec, self.more, ordered)
        if rows == self.rows and not sup_changed and self.pressure == old_pressure:
            return None
        self.rows = rows
        return self.board()

    def _reload_flows(self, ids: list[str]) -> list[FlowView]:
        """Read these flows again (gone when they no longer match the view); all flows in order."""
        matching: dict[str, Any] = {}
        for chunk in _chunks(ids):
            for f in self.ledger.flows_by_ids(chunk, self.spec.status, self.spec.text):
                matching[f.flow_id] = f
        counts = self._counts(list(matching))
        for flow_id in ids:
            found = matching.get(flow_id)
            if found is None:
                self.flows.pop(flow_id, None)
                self.tasks.pop(flow_id, None)
                continue
            self.flows[flow_id] = FlowView.of(found, counts.get(flow_id, {}), self._source(flow_id))
            self.tasks.pop(flow_id, None)  # re-read below if it is open
        return self._ensure_tasks()


def data_version(ledger: BoardReads) -> int | None:
    """SQLite's counter of commits by other connections; None on other databases."""
    try:
        return ledger.data_version()
    except pw.DatabaseError:
        return None
