"""Follow a task or a flow: its events in id order, each exactly once, resumable by event id.

An event's id is taken from a counter before its transaction commits. On SQLite one writer
at a time takes ids and commits, so the ids a reader sees only ever grow. On PostgreSQL
several writers commit in any order: a reader that saw event 11 may see event 10 only later,
and a cursor "after 11" would lose it for good. So an id is handed out only once it is
*settled*: every transaction that could still add an event with a lower id has ended.

The rule on PostgreSQL: look at the highest visible id V, then take a snapshot S. Every id
up to V was taken before that look, by a transaction that already had its transaction id
(our events are always written after the transaction's first write), so it is below S's
xmax. Once the oldest running transaction is at or past S's xmax (`pg_snapshot_xmin` of a
later snapshot), all of them have committed or rolled back, and the events up to V are all
visible. Most of the time that holds at once; under concurrent writers it takes one more poll.
Transaction ids are the server's, not the ledger's: any long write transaction on the same
server delays a follow (never loses an event) until it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import peewee as pw

from .states import TERMINAL_FLOW, TERMINAL_TASK

BATCH = 1000


@dataclass(frozen=True)
class FollowedEvent:
    """One event of the followed scope, with the label of its task (None for a flow's own)."""

    event_id: int
    at: int
    flow_id: str
    task_id: str | None
    label: str | None
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    detail: str | None


class Scope:
    """Which events to follow and when the followed thing has ended."""

    def __init__(self, ledger: Any, flow_id: str, label: str | None) -> None:
        self.ledger, self.flow_id, self.label = ledger, flow_id, label

    def attempts(self) -> dict[str, str]:
        """task_id -> label, for the followed task's attempts (all tasks of the flow when following a flow)."""
        Task = self.ledger.m.Task
        query = Task.select(Task.task_id, Task.label).where(Task.flow_id == self.flow_id)
        if self.label is not None:
            query = query.where(Task.label == self.label)
        return {t.task_id: t.label for t in query}

    def ended(self) -> str | None:
        """The final status once the followed task (its latest attempt) or flow has ended, else None."""
        if self.label is None:
            status = self.ledger.get_flow(self.flow_id).status
            return status if status in TERMINAL_FLOW else None
        Task = self.ledger.m.Task
        latest = (Task.select(Task.status).where((Task.flow_id == self.flow_id) & (Task.label == self.label))
                  .order_by(Task.attempt.desc()).first())
        return latest.status if latest is not None and latest.status in TERMINAL_TASK else None


def task_scope(ledger: Any, ref: str) -> Scope:
    task = ledger.get_task(ref)
    return Scope(ledger, task.flow_id, task.label)


def flow_scope(ledger: Any, ref: str) -> Scope:
    return Scope(ledger, ledger.get_flow(ref).flow_id, None)


class EventFollower:
    """Hands out the scope's settled events after `since`, in id order, each once."""

    def __init__(self, scope: Scope, since: int = 0) -> None:
        self.scope = scope
        self.cursor = since
        self._postgres = not scope.ledger.is_sqlite
        self._pending: tuple[int, int] | None = None  # (highest id seen, xmax of the snapshot after it)

    def poll(self) -> list[FollowedEvent]:
        horizon = self._settled_horizon()
        if horizon is None or horizon <= self.cursor:
            return []
        labels = self.scope.attempts()  # read once a poll: the batches below share it
        out: list[FollowedEvent] = []
        while True:
            rows: list[Any] = list(self._events(self.cursor, horizon, list(labels)))
            out.extend(self._followed(row, labels) for row in rows)
            if rows:
                self.cursor = rows[-1].id
            if len(rows) < BATCH:
                break
        self.cursor = max(self.cursor, horizon)
        return out

    def _events(self, after: int, upto: int, task_ids: list[str]) -> pw.ModelSelect:
        Event = self.scope.ledger.m.Event
        query = Event.select().where((Event.flow_id == self.scope.flow_id) & (Event.id > after) & (Event.id <= upto))
        if self.scope.label is not None:
            query = query.where(Event.task_id.in_(task_ids))
        return query.order_by(Event.id).limit(BATCH)

    def _highest_visible(self) -> int:
        Event = self.scope.ledger.m.Event
        return int(Event.select(pw.fn.MAX(Event.id)).where(Event.flow_id == self.scope.flow_id).scalar() or 0)

    def _settled_horizon(self) -> int | None:
        """The highest id below which every event is visible now (None: nothing settled yet)."""
        if not self._postgres:
            return self._highest_visible()
        db = self.scope.ledger.db
        if self._pending is None:
            seen = self._highest_visible()
            xmax = int(db.execute_sql("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()[0])
            self._pending = (seen, xmax)
        seen, xmax = self._pending
        oldest = int(db.execute_sql("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()[0])
        if oldest < xmax:
            return None  # a transaction that may hold a lower id is still open: ask again next poll
        self._pending = None
        return seen

    @property
    def settled(self) -> bool:
        """True when no horizon waits to settle: every event seen so far has been handed out."""
        return self._pending is None

    def forget_pending(self) -> None:
        """Drop a horizon taken earlier, so that the next poll takes one from now."""
        self._pending = None

    @staticmethod
    def _followed(row: Any, labels: dict[str, str]) -> FollowedEvent:
        return FollowedEvent(row.id, row.at, row.flow_id, row.task_id, labels.get(row.task_id or ""), row.kind,
                             row.from_status, row.to_status, row.actor, row.detail)


def follow(scope: Scope, since: int = 0, *, interval_s: float = 0.25,
           on_idle: Callable[[], None] | None = None) -> Iterator[FollowedEvent | str]:
    """Every settled event after `since`, then the final status (a str) once the scope has ended
    and every event up to its end has been handed out."""
    follower = EventFollower(scope, since)
    while True:
        final = scope.ended()
        if final is not None:
            # The end's own events committed before we read the end: a horizon taken from now
            # on covers them. Drain until such a horizon has settled.
            follower.forget_pending()
            while True:
                yield from follower.poll()
                if follower.settled:
                    break
                time.sleep(interval_s / 5)
            yield final
            return
        events = follower.poll()
        yield from events
        if not events:
            if on_idle is not None:
                on_idle()
            time.sleep(interval_s)
