"""The sort orders of the main list, one per column, either direction: pure key functions.

Each sort has a natural direction (the one an operator wants first: A→Z for names, longest
first for elapsed, furthest first for progress, live and troubled work first for status);
`reverse` flips it. Flows sort by what their row shows; under a flow, its tasks keep the
order work happens in (dependencies first) for the status, updated and created sorts, and
follow the column for the sorts that are about a task's own cells.

No clock here: elapsed ranks live work as "still growing" (oldest start first) ahead of
finished work (longest first), so the order is the same at every tick.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...ledger.states import ACTIVE_FLOW
from .model import FlowView, TaskView

# What `s` cycles through, in order; the column header's titles map to some of them.
SORTS: tuple[str, ...] = ("status", "updated", "created", "goal", "runtime", "try", "elapsed", "progress",
                          "detail")
# The column header's title of each sort that is a column (updated and created are not drawn).
COLUMN_OF_SORT: dict[str, str] = {"goal": "FLOW / TASK", "runtime": "RUNTIME", "status": "STATUS", "try": "TRY",
                                  "elapsed": "ELAPSED", "progress": "PROGRESS", "detail": "DETAIL"}
# Sorts under which a flow's tasks follow the column rather than their dependency order.
TASK_SORTS = frozenset({"goal", "runtime", "try", "elapsed", "progress", "detail"})

RANK = {
    "running": 0, "waiting": 1, "queued": 2,
    "blocked": 3, "failed": 3, "lost": 3,
    "cancelled": 4, "succeeded": 4,
}
_ISSUES = ("failed", "timed_out", "lost", "blocked")


def next_sort(current: str, step: int = 1) -> str:
    """The sort after `current` in the cycle (the first when `current` is unknown)."""
    if current not in SORTS:
        return SORTS[0]
    return SORTS[(SORTS.index(current) + step) % len(SORTS)]


def sort_label(sort: str, reverse: bool) -> str:
    """`status ↓` / `goal ↑`: the sort as the header names it; ↓ is the sort's natural
    direction (as the column title's ▼), ↑ the other."""
    return f"{sort} {'↑' if reverse else '↓'}"


def flow_sort_key(flow: FlowView, sort: str) -> tuple[object, ...]:
    """The key of a flow row in the natural direction of `sort` (ties broken by id)."""
    if sort == "updated":
        return (-flow.updated_at, flow.flow_id)
    if sort == "created":
        return (-flow.created_at, flow.flow_id)
    if sort == "goal":
        return (flow.goal.casefold(), flow.flow_id)
    if sort == "runtime":  # a flow's row shows its number of tasks there
        return (-flow.total, flow.flow_id)
    if sort == "try":  # a flow has no attempt: the flows with retried or failed work first
        return (-flow.count(*_ISSUES), flow.flow_id)
    if sort == "elapsed":
        if flow.ended_at is None:
            return (0, flow.created_at, flow.flow_id)
        return (1, -(flow.ended_at - flow.created_at), flow.flow_id)
    if sort == "progress":
        done = flow.count("succeeded") / flow.total if flow.total else 0.0
        return (-done, flow.flow_id)
    if sort == "detail":  # the detail of a flow counts its tasks by state: troubled first
        return (-flow.count(*_ISSUES), -flow.count("running"), flow.flow_id)
    rank = RANK.get(flow.status, 5)
    when = flow.created_at if flow.status in ACTIVE_FLOW else flow.updated_at
    return (rank, -when, flow.flow_id)


def task_sort_key(task: TaskView, sort: str) -> tuple[object, ...]:
    """The key of a task row under `sort` (one of TASK_SORTS), natural direction."""
    if sort == "runtime":
        return (task.runtime.casefold(), task.label)
    if sort == "try":
        return (-task.attempt, task.label)
    if sort == "elapsed":
        if task.ended_at is None:
            return (0, task.started_at or task.created_at, task.label)
        return (1, -(task.ended_at - (task.started_at or task.created_at)), task.label)
    if sort == "progress":
        done = 100.0 if task.status == "succeeded" else (task.progress or 0.0)
        return (-done, task.label)
    if sort == "detail":
        text = task.error or task.terminal_summary or task.progress_summary or ""
        return (text.casefold(), task.label)
    return (task.label.casefold(), task.label)


def sort_flows(flows: Sequence[FlowView], sort: str, reverse: bool = False) -> list[FlowView]:
    return sorted(flows, key=lambda f: flow_sort_key(f, sort), reverse=reverse)


def sort_tasks(tasks: Sequence[TaskView], sort: str, reverse: bool,
               dependency_order: Callable[[Sequence[TaskView]], list[TaskView]]) -> list[TaskView]:
    """A flow's tasks: dependency order unless the sort is about a task's own cells."""
    if sort not in TASK_SORTS:
        return dependency_order(tasks)
    return sorted(tasks, key=lambda t: task_sort_key(t, sort), reverse=reverse)
