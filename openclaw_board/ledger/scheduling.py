"""Firing schedules: the flows their due firings make, exactly once per firing.

`fire_due` is called by every supervisor about once a second. Each schedule is handled in
one transaction that locks its row (PostgreSQL) or holds the write lock (SQLite), reads it
again, applies `schedule_plan.plan` and the overlap policy, makes the flows and moves the
schedule on. Several supervisors may call it at once: the one that gets the row first does
the work, the others find nothing due. Should two ever race past that, the unique index on
flow(schedule_id, fire_at) refuses the second flow and its whole transaction rolls back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import peewee as pw

from .clock import iso
from .errors import IllegalTransition, LedgerError
from .models import ScheduleModel
from .schedule_plan import Due, ScheduleFacts, overlap_action, plan
from .spec import parse_spec

if TYPE_CHECKING:
    from . import Ledger

MISSED_EVENTS = 20  # missed firings listed one event each; more are summed up in one event


def fire_due(ledger: Ledger, actor: str = "scheduler") -> list[str]:
    """Make the flows of every due firing; returns their ids."""
    now = ledger.lease_now()  # PostgreSQL's clock when several hosts share the ledger
    made: list[str] = []
    for schedule_id in ledger.due_schedule_ids(now):
        try:
            made += _fire_one(ledger, schedule_id, now, actor)
        except pw.IntegrityError:
            pass  # another supervisor made this firing's flow first: it is done, once
    return made


def run_now(ledger: Ledger, ref: str, actor: str = "cli") -> str:
    """A flow of this schedule now, whatever its cron and overlap say; returns its id."""
    with ledger.atomic():
        row = ledger.get_schedule(ref)
        now = ledger.lease_now()
        flow_id = _make_flow(ledger, row, now, actor, kind="run_now")
        if flow_id is None:
            raise IllegalTransition(f"schedule {row.schedule_id[:8]}: its spec is no longer valid (see its events)")
        ledger._update_by_id(ledger.m.Schedule, row.schedule_id,
                             {"last_fire_at": now, "last_flow_id": flow_id, "updated_at": ledger.now()})
    return str(flow_id)  # not None: refused above


def _fire_one(ledger: Ledger, schedule_id: str, now: int, actor: str) -> list[str]:
    made: list[str] = []
    with ledger.atomic():
        row = ledger.lock_schedule(schedule_id)
        if row is None or row.paused:
            return made
        changes: dict[str, object] = {}
        live = ledger.flow_live(row.last_flow_id)
        if row.pending_fire_at is not None and not live:
            flow_id = _make_flow(ledger, row, row.pending_fire_at, actor, kind="fired_queued")
            changes.update(pending_fire_at=None, last_fire_at=row.pending_fire_at)
            if flow_id is not None:
                made.append(flow_id)
                changes["last_flow_id"] = flow_id
                live = True
            row.pending_fire_at = None
        due = plan(_facts(row), now)
        if due is not None:
            _record_missed(ledger, row.schedule_id, due, actor)
            for index, fire_at in enumerate(due.fire):
                # Catch-up firings of one call (missed = "all") all run: the overlap policy is
                # about a flow from before them.
                action = overlap_action(row.overlap, live and not made) if index == 0 else "fire"
                if action == "skip":
                    ledger.schedule_event(row.schedule_id, "skipped", fire_at=fire_at, actor=actor,
                                          flow_id=row.last_flow_id, detail="the previous flow is still live")
                    continue
                if action == "queue":
                    if row.pending_fire_at is not None:
                        ledger.schedule_event(row.schedule_id, "skipped", fire_at=row.pending_fire_at, actor=actor,
                                              detail="a later firing took its place in the queue")
                    ledger.schedule_event(row.schedule_id, "queued", fire_at=fire_at, actor=actor,
                                          flow_id=row.last_flow_id, detail="waits for the previous flow to end")
                    row.pending_fire_at = fire_at
                    changes["pending_fire_at"] = fire_at
                    continue
                if action == "cancel_previous":
                    ledger.cancel_flow(row.last_flow_id, actor=actor)
                    ledger.schedule_event(row.schedule_id, "cancelled_previous", fire_at=fire_at, actor=actor,
                                          flow_id=row.last_flow_id)
                flow_id = _make_flow(ledger, row, fire_at, actor)
                changes["last_fire_at"] = fire_at
                if flow_id is not None:
                    made.append(flow_id)
                    changes["last_flow_id"] = flow_id
            changes["next_fire_at"] = due.next_fire_at
        if changes:
            changes["updated_at"] = ledger.now()
            ledger._update_by_id(ledger.m.Schedule, row.schedule_id, changes)
    return made


def _facts(row: ScheduleModel) -> ScheduleFacts:
    return ScheduleFacts(schedule_id=row.schedule_id, cron=row.cron, timezone=row.timezone,
                         missed=row.missed, jitter_s=row.jitter_s, next_fire_at=row.next_fire_at)


def _record_missed(ledger: Ledger, schedule_id: str, due: Due, actor: str) -> None:
    why = "no supervisor was running when it fell"
    for fire_at in due.missed[-MISSED_EVENTS:]:
        ledger.schedule_event(schedule_id, "missed", fire_at=fire_at, actor=actor, detail=why)
    older = len(due.missed) - MISSED_EVENTS
    if older > 0 or due.missed_more:
        count = f"{older} more" if not due.missed_more else "more than 10,000 more"
        first = iso(due.missed[0]) if due.missed else "long ago"
        ledger.schedule_event(schedule_id, "missed", actor=actor, detail=f"{count} firings missed, from {first}")


def _make_flow(ledger: Ledger, row: ScheduleModel, fire_at: int, actor: str, kind: str = "fired") -> str | None:
    """The firing's flow, or None (with a `failed` event) when its spec is no longer valid:
    a spec is checked again at each firing, and rules may have tightened since it was saved."""
    schedule_id = row.schedule_id
    try:
        spec = parse_spec(json.loads(row.spec_json), f"schedule {schedule_id[:8]}")
    except (LedgerError, ValueError) as exc:
        ledger.schedule_event(schedule_id, "failed", fire_at=fire_at, actor=actor, detail=str(exc))
        return None
    flow_id, _ = ledger.submit(spec, actor=actor, firing=(schedule_id, fire_at))
    ledger.schedule_event(schedule_id, kind, fire_at=fire_at, flow_id=flow_id, actor=actor)
    return flow_id
