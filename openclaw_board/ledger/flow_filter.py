"""The board's flow filter, and what counts as an issue: each rule written once.

Every ledger answers the board's "which flows?" through these definitions: ours in SQL
(`flows_where`), OpenClaw's and the time-travel snapshot in memory (`flow_matches`). The two
twins sit side by side so that a change to one is a change to the other; the tests hold
them to the same answers on every kind of ledger.

Text matches without regard to case, in the goal, the label, a latest task's label, or as
a prefix of the flow id. (SQLite's LIKE folds ASCII letters only; PostgreSQL's ILIKE and
Python's `casefold` fold every alphabet. The board's search is for people typing ASCII
names; a non-ASCII capital may match on one backend and not the other.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from .states import ACTIVE_FLOW, F, T

if TYPE_CHECKING:
    import peewee as pw

    from .models import FlowModel, Models

# The board's status filters, in the order its keys 1-4 choose them.
STATUS_FILTERS: tuple[str, ...] = ("all", "active", "issues", "blocked")

# "Issues" in the pressure line, as OpenClaw counts them: cancelled is not an issue. A flow
# "has an issue" when its own status says so, or when a latest attempt's does.
ISSUE_TASK: frozenset[str] = frozenset({T.FAILED, T.TIMED_OUT, T.LOST, T.BLOCKED})
ISSUE_FLOW: frozenset[str] = frozenset({F.BLOCKED, F.FAILED, F.LOST})
BLOCKED_FLOW: frozenset[str] = frozenset({F.BLOCKED})
BLOCKED_TASK: frozenset[str] = frozenset({T.BLOCKED})


class FilteredFlow(Protocol):
    @property
    def flow_id(self) -> str: ...
    @property
    def goal(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def status(self) -> str: ...


class FilteredTask(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def status(self) -> str: ...


def issue_count(by_status: Mapping[str, int]) -> int:
    """The pressure line's "N issues": latest attempts in an issue status."""
    return sum(by_status.get(s, 0) for s in ISSUE_TASK)


def _status_sets(status_filter: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(flow statuses, latest task statuses) that let a flow through; None: no status test."""
    if status_filter == "issues":
        return ISSUE_FLOW, ISSUE_TASK
    if status_filter == "blocked":
        return BLOCKED_FLOW, BLOCKED_TASK
    return None


# -- the rule in memory ------------------------------------------------------------------

def flow_matches(flow: FilteredFlow, latest: Iterable[FilteredTask], status_filter: str, text: str) -> bool:
    """Does `flow` (with its latest attempts) pass the board's filter and search text?"""
    tasks = list(latest)
    if status_filter == "active" and flow.status not in ACTIVE_FLOW:
        return False
    sets = _status_sets(status_filter)
    if sets is not None:
        flow_statuses, task_statuses = sets
        if flow.status not in flow_statuses and not any(t.status in task_statuses for t in tasks):
            return False
    needle = text.strip()
    if not needle:
        return True
    folded = needle.casefold()
    return (folded in flow.goal.casefold() or folded in (flow.label or "").casefold()
            or flow.flow_id.lower().startswith(needle.lower())
            or any(folded in t.label.casefold() for t in tasks))


# -- the same rule in SQL ----------------------------------------------------------------

def flows_where(m: Models, status_filter: str, text: str) -> pw.ModelSelect[FlowModel]:
    """The flows of ledger models `m` that pass the filter: `flow_matches` as one query."""
    Flow, Task = m.Flow, m.Task
    query = Flow.select()
    latest = Task.is_latest == True  # noqa: E712
    if status_filter == "active":
        query = query.where(Flow.status.in_(sorted(ACTIVE_FLOW)))
    sets = _status_sets(status_filter)
    if sets is not None:
        flow_statuses, task_statuses = sets
        with_issue = Task.select(Task.flow).where(latest & Task.status.in_(sorted(task_statuses)))
        query = query.where(Flow.status.in_(sorted(flow_statuses)) | Flow.flow_id.in_(with_issue))
    needle = text.strip()
    if needle:
        # contains/startswith are ILIKE (case-insensitive LIKE on SQLite), wildcards escaped.
        by_task = Task.select(Task.flow).where(latest & Task.label.contains(needle))
        query = query.where(
            Flow.goal.contains(needle) | Flow.label.contains(needle)
            | Flow.flow_id.startswith(needle.lower()) | Flow.flow_id.in_(by_task)
        )
    return query
