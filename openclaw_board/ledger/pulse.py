"""The event log over the last hour, for the board's pulse (throughput, failures, queue depth).

The event table has no index on `at`, and needs none here: its id is the order events were
written in, and `at` follows it (both come from the writer's clock, in order). So a span of
time is a span of ids: the first id of the span is found by a binary search over the primary
key (a few dozen point reads, once), and from then on the reader asks only for ids past its
cursor. Every statement reads the primary key's range, never the whole log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .core import tuples
from .states import TERMINAL_TASK, T

if TYPE_CHECKING:
    from . import Ledger

# The queue, as the header's "queued" counts it (queries.task_pressure): waiting to run, or
# for an approval first.
QUEUE = frozenset({T.QUEUED, T.AWAITING_APPROVAL})
# The transitions the pulse counts: a task finishing, and a task entering or leaving the queue.
_COUNTED = sorted({*TERMINAL_TASK, *QUEUE})
_CHUNK = 500  # task ids per IN (...)


@dataclass(frozen=True)
class PulseEvent:
    """A task's transition, with the runtime of its task (the pulse is drawn per runtime)."""

    id: int
    at: int
    runtime: str
    src: str | None
    dst: str | None


def first_event_id_from(ledger: Ledger, at_ms: int) -> int:
    """The least id from which on every event was written at or after `at_ms` (those before it
    were not; past the last id when none was): a binary search over the primary key, each step
    one indexed point read."""
    Event = ledger.m.Event
    lo, hi = 0, ledger.last_event_id() + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = next(tuples(Event.select(Event.id, Event.at).where(Event.id >= mid).order_by(Event.id).limit(1)), None)
        if row is None or row[1] >= at_ms:
            hi = mid  # the first event from `mid` on is in the span (or there is none)
        else:
            lo = row[0] + 1  # every id up to this event's is before the span
    return lo


def pulse_events(ledger: Ledger, after_id: int, upto_id: int) -> list[PulseEvent]:
    """Task transitions with `after_id < id <= upto_id` that finish a task or move the queue.

    Two reads, each by a primary key: the events, then their tasks' runtimes (a join lets
    PostgreSQL hash the whole task table for a short span)."""
    Event, Task = ledger.m.Event, ledger.m.Task
    if upto_id <= after_id:
        return []
    query = (Event.select(Event.id, Event.at, Event.task_id, Event.from_status, Event.to_status)
             .where((Event.id > after_id) & (Event.id <= upto_id) & Event.task_id.is_null(False)
                    & (Event.to_status.in_(_COUNTED) | Event.from_status.in_(sorted(QUEUE))))
             .order_by(Event.id))
    rows = list(tuples(query))
    runtimes: dict[str, str] = {}
    ids = sorted({r[2] for r in rows})
    for k in range(0, len(ids), _CHUNK):
        chunk = ids[k:k + _CHUNK]
        runtimes.update((str(i), str(rt)) for i, rt in tuples(Task.select(Task.task_id, Task.runtime)
                                                             .where(Task.task_id.in_(chunk))))
    return [PulseEvent(int(i), int(at), runtimes[task_id], src, dst)
            for i, at, task_id, src, dst in rows if task_id in runtimes]


def queued_by_runtime(ledger: Ledger) -> dict[str, int]:
    """How many latest attempts are in the queue (QUEUE), per runtime: its depth now. Read once
    when the pulse opens; the events keep it up to date after that."""
    Task = ledger.m.Task
    rows = Task.select(Task.runtime).where(Task.status.in_(sorted(QUEUE)) & (Task.is_latest == True))  # noqa: E712
    return dict(Counter(str(r[0]) for r in tuples(rows)))
