"""Reads for the CLI and the board: lists, pressure counts, attempts, the event log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import peewee as pw

from .api import TaskRecord
from .core import LedgerBase, chunked, tuples
from .flow_filter import ISSUE_TASK, flows_where, issue_count
from .models import EventModel, FlowModel, TaskModel
from .serialize import TASK_DICT_FIELDS
from .states import ACTIVE_FLOW, TERMINAL_FLOW
from .states import TaskStatus as T

# Ids per IN (...): SQLite refuses a statement with more than 32,766 bound values.
ID_CHUNK = 500
# The task statuses the pressure line counts (queued, running, issues).
PRESSURE_TASK = [T.QUEUED, T.AWAITING_APPROVAL, T.RUNNING, *sorted(ISSUE_TASK)]


class Queries(LedgerBase):
    def list_tasks(
        self, *, status: str | None = None, runtime: str | None = None,
        flow: str | None = None, all_attempts: bool = False, limit: int | None = None,
    ) -> list[Any]:
        """Newest first; the latest attempt of each task unless `all_attempts`."""
        return list(self._tasks_query(status, runtime, flow, all_attempts, limit))

    def stream_tasks(
        self, *, status: str | None = None, runtime: str | None = None,
        flow: str | None = None, all_attempts: bool = False,
    ) -> tuple[int, Iterator[Any]]:
        """The same as list_tasks, as (count, rows one at a time): `tasks list --json` over
        100,000 tasks should not hold them all in memory."""
        query = self._tasks_query(status, runtime, flow, all_attempts, None)
        count = query.count()
        # Only what the JSON shape holds, as plain tuples: building a model per row (40 fields
        # each) cost more than reading the rows.
        Task = self.m.Task
        listed = query.select(*[Task.flow.alias("flow_id") if name == "flow_id" else getattr(Task, name)
                                for name in TASK_DICT_FIELDS])
        return count, listed.namedtuples().iterator()

    def _tasks_query(self, status: str | None, runtime: str | None, flow: str | None,
                     all_attempts: bool, limit: int | None) -> Any:
        Task = self.m.Task
        query = Task.select()
        if not all_attempts:
            query = query.where(Task.is_latest == True)  # noqa: E712
        if status:
            query = query.where(Task.status == status)
        if runtime:
            query = query.where(Task.runtime == runtime)
        if flow:
            query = query.where(Task.flow == self.get_flow(flow).flow_id)
        query = query.order_by(Task.created_at.desc(), Task.label.desc(), Task.attempt.desc())
        if limit:
            query = query.limit(limit)
        return query

    def list_flows(self, *, status: str | None = None, limit: int | None = None) -> list[FlowModel]:
        Flow = self.m.Flow
        query = Flow.select()
        if status:
            query = query.where(Flow.status == status)
        query = query.order_by(Flow.created_at.desc(), Flow.flow_id)
        if limit:
            query = query.limit(limit)
        return list(query)

    def task_counts(self, flow_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
        """{flow_id: {status: n}} over latest attempts.

        Counted here rather than with GROUP BY: the rows come from the per-flow index in its
        order, and a GROUP BY (flow, status) would sort them again. Ids go in chunks, so that
        `flows list` over any number of flows stays below SQLite's limit of bound values."""
        Task = self.m.Task
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        latest = Task.is_latest == True  # noqa: E712
        if flow_ids is None:
            queries = [Task.select(Task.flow, Task.status).where(latest)]
        else:
            queries = [Task.select(Task.flow, Task.status).where(Task.flow.in_(chunk) & latest)
                       for chunk in chunked(flow_ids, ID_CHUNK)]
        for query in queries:
            for flow_id, status in tuples(query):
                by = counts[flow_id]
                by[status] = by.get(status, 0) + 1
        return dict(counts)

    def task_pressure(self) -> dict[str, int]:
        """Counted from the status index alone (COUNT(*), not COUNT(task_id), which would read
        every row), and only the statuses the header shows: succeeded tasks are not read."""
        Task = self.m.Task
        rows = tuples(
            Task.select(Task.status, pw.fn.COUNT(pw.SQL("*")))
            .where(Task.status.in_(PRESSURE_TASK) & (Task.is_latest == True))  # noqa: E712
            .group_by(Task.status)
        )
        by: dict[str, int] = dict(rows)
        return {
            "queued": by.get("queued", 0) + by.get("awaiting_approval", 0),
            "running": by.get("running", 0),
            "issues": issue_count(by),
        }

    def flow_pressure(self) -> dict[str, int]:
        Flow = self.m.Flow
        by: dict[str, int] = dict(tuples(Flow.select(Flow.status, pw.fn.COUNT(pw.SQL("*"))).group_by(Flow.status)))
        cancel = (
            Flow.select().where(Flow.cancel_requested_at.is_null(False)
                                & Flow.status.in_(list(ACTIVE_FLOW))).count()
        )
        return {
            "active": sum(by.get(s, 0) for s in ACTIVE_FLOW),
            "blocked": by.get("blocked", 0),
            "cancel_requested": cancel,
            "total": sum(by.values()),
        }

    def flow_attempts(self, flow_id: str) -> list[TaskModel]:
        """Every attempt of every task in the flow, oldest first."""
        Task = self.m.Task
        return list(
            Task.select().where(Task.flow == flow_id)
            .order_by(Task.created_at, Task.label, Task.attempt)
        )

    def attempts_of(self, task: TaskRecord) -> list[TaskModel]:
        Task = self.m.Task
        return list(
            Task.select().where((Task.flow == task.flow_id) & (Task.label == task.label))
            .order_by(Task.attempt)
        )

    def task_events(self, task_id: str) -> list[EventModel]:
        Event = self.m.Event
        return list(Event.select().where(Event.task_id == task_id).order_by(Event.id))

    def flow_events(self, flow_id: str, until: int | None = None) -> list[EventModel]:
        Event = self.m.Event
        query = Event.select().where(Event.flow_id == flow_id)
        if until is not None:
            query = query.where(Event.at <= until)
        return list(query.order_by(Event.id))

    def events_since(self, after_id: int, limit: int = 10_000) -> list[EventModel]:
        Event = self.m.Event
        return list(Event.select().where(Event.id > after_id).order_by(Event.id).limit(limit))

    def last_event_id(self) -> int:
        Event = self.m.Event
        return Event.select(pw.fn.MAX(Event.id)).scalar() or 0

    # -- the board's view (api.BoardReads; the filter is flow_filter.py's) -------------

    def board_flows(self, status_filter: str, text: str, *, active_cap: int,
                    terminal_limit: int) -> tuple[list[FlowModel], list[FlowModel], int]:
        """Active flows (newest first, at most `active_cap`), the `terminal_limit` most
        recently updated terminal ones, and how many older terminal ones were left out."""
        Flow = self.m.Flow
        base = flows_where(self.m, status_filter, text)
        active = list(base.where(Flow.status.in_(list(ACTIVE_FLOW)))
                      .order_by(Flow.created_at.desc()).limit(active_cap))
        terminal_q = base.where(Flow.status.in_(list(TERMINAL_FLOW)))
        terminal = list(terminal_q.order_by(Flow.updated_at.desc(), Flow.flow_id).limit(terminal_limit))
        more = 0 if len(terminal) < terminal_limit else max(0, terminal_q.count() - len(terminal))
        return active, terminal, more

    def flows_by_ids(self, ids: list[str], status_filter: str = "all", text: str = "") -> list[FlowModel]:
        """Those of `ids` that still exist and still match the filter."""
        Flow = self.m.Flow
        if not ids:
            return []
        return list(flows_where(self.m, status_filter, text).where(Flow.flow_id.in_(ids)))

    def latest_tasks_of(self, flow_ids: list[str]) -> dict[str, list[TaskModel]]:
        """{flow_id: latest attempts, oldest first} for the flows asked for."""
        Task = self.m.Task
        out: dict[str, list[TaskModel]] = {i: [] for i in flow_ids}
        for chunk in chunked(flow_ids, ID_CHUNK):
            # Flow by flow, in the per-flow index's order: nothing to sort.
            rows = (Task.select().where(Task.flow.in_(chunk) & (Task.is_latest == True))  # noqa: E712
                    .order_by(Task.flow, Task.created_at, Task.label))
            for t in rows:
                out[t.flow_id].append(t)
        return out
