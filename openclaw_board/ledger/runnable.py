"""Which queued tasks can run now, oldest first: what a claim picks from.

The `(status, is_latest, created_at, attempt, label)` index gives the claim's order as it
is read (no sort of every queued row: draining a backlog stays linear), and the
dependencies are checked in the same statement (no query per candidate, no window of the
oldest N that work queued behind them would never leave): a task
is runnable when none of the labels in its `after` list lacks a succeeded latest attempt in
its flow. What is left queued behind unmet dependencies costs index probes, not Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from .core import LedgerBase
from .states import TaskStatus as T

# Candidates read per statement: on SQLite the first is claimed (the write lock is held);
# on PostgreSQL flows other claimers hold are skipped, so more pages may be needed.
FIRST_PAGE = 8
MAX_PAGE = 256

# The claimable tasks: latest attempts, queued, their wait over, in a flow not being
# cancelled, every dependency's latest attempt succeeded. {deps} is the backend's way to list
# a JSON array's items as rows named d(value). Parameters: "queued", True, now, True, "succeeded".
_RUNNABLE = (
    'FROM "task" AS t JOIN "flow" AS f ON f."flow_id" = t."flow_id" '
    'WHERE t."status" = ? AND t."is_latest" = ? AND (t."not_before" IS NULL OR t."not_before" <= ?) '
    'AND f."cancel_requested_at" IS NULL '
    # CASE, not OR: no dependencies (also NULL or '', as after_of reads them) is never parsed.
    """AND CASE WHEN COALESCE(t."after_json", '') IN ('[]', '') THEN 1 = 1 ELSE NOT EXISTS ("""
    'SELECT 1 FROM {deps} WHERE NOT EXISTS (SELECT 1 FROM "task" AS p WHERE p."flow_id" = t."flow_id" '
    'AND p."label" = d.value AND p."is_latest" = ? AND p."status" = ?)) END'
)
_DEPS = {
    "sqlite": 'json_each(t."after_json") AS d',
    "postgresql": 'jsonb_array_elements_text(t."after_json"::jsonb) AS d(value)',
}
# The claim's order, which the index above gives as it is read; the label breaks ties so
# that the order is the same every time.
_ORDER = ' ORDER BY t."created_at", t."attempt", t."label" LIMIT ?'
_AFTER_KEY = ' AND (t."created_at", t."attempt", t."label") > (?, ?, ?)'
_COLUMNS = 'SELECT t."task_id", t."flow_id", t."created_at", t."attempt", t."label" '


class Candidate(NamedTuple):
    task_id: str
    flow_id: str
    created_at: int
    attempt: int
    label: str


def _not_in(runtimes: frozenset[str]) -> str:
    """The runtimes a claim skips (their parameters follow _RUNNABLE's, sorted)."""
    return ' AND t."runtime" NOT IN (' + ", ".join("?" * len(runtimes)) + ")" if runtimes else ""


def _runnable_sql(led: LedgerBase, exclude_runtimes: frozenset[str]) -> str:
    return _COLUMNS + _RUNNABLE.format(deps=_DEPS[led.parsed_url.kind]) + _not_in(exclude_runtimes)


def _runnable_params(now: int, exclude_runtimes: frozenset[str]) -> tuple[object, ...]:
    return (T.QUEUED, True, now, True, T.SUCCEEDED, *sorted(exclude_runtimes))


def runnable(led: LedgerBase, now: int, exclude_runtimes: frozenset[str]) -> Iterator[Candidate]:
    """Tasks a claim may take now, as this transaction sees them, oldest first."""
    head = _runnable_sql(led, exclude_runtimes)
    params = _runnable_params(now, exclude_runtimes)
    key: tuple[object, ...] = ()
    size = FIRST_PAGE
    while True:
        sql = head + (_AFTER_KEY if key else "") + _ORDER
        page = [Candidate(*row) for row in led._run(sql, (*params, *key, size)).fetchall()]
        yield from page
        if len(page) < size:
            return
        key = (page[-1].created_at, page[-1].attempt, page[-1].label)
        size = min(MAX_PAGE, size * 4)


def still_runnable(led: LedgerBase, candidate: Candidate, now: int) -> bool:
    """Is this candidate still claimable (read again once its flow is held)?"""
    sql = _runnable_sql(led, frozenset()) + ' AND t."task_id" = ?'
    return led._run(sql, (*_runnable_params(now, frozenset()), candidate.task_id)).fetchone() is not None


def anything_runnable(led: LedgerBase, now: int, exclude_runtimes: frozenset[str]) -> bool:
    """A read, outside any write transaction: is there a queued task whose wait is over
    and whose dependencies all succeeded? (The claim checks again under the lock.)"""
    return next(runnable(led, now, exclude_runtimes), None) is not None
