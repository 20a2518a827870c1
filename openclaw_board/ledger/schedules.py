"""Schedules in the ledger: create, read, pause, resume, remove, and their event log.

Firing them (making flows when they fall due) is `scheduling.fire_due`, which the
supervisor calls; this part only keeps the rows. A schedule's flows carry its id and the
firing time they were made for (`flow.schedule_id`, `flow.fire_at`).
"""

from __future__ import annotations

import json
from typing import Any

from .core import LedgerBase, new_id
from .errors import IllegalTransition
from .schedule_spec import next_firing
from .spec import FlowSpec
from .states import ACTIVE_FLOW


class Schedules(LedgerBase):
    def add_schedule(self, spec: FlowSpec, actor: str = "cli") -> Any:
        """Keep a spec with a [schedule] as a schedule; its first firing is the next one after now."""
        sched = spec.schedule
        if sched is None:
            raise ValueError("add_schedule needs a spec with a [schedule] table")
        now = self.now()
        schedule_id = new_id()
        with self.atomic():
            self.m.Schedule.insert(
                schedule_id=schedule_id, goal=spec.goal, label=spec.label, cron=sched.cron,
                timezone=sched.timezone, missed=sched.missed, overlap=sched.overlap, jitter_s=sched.jitter_s,
                spec_json=json.dumps(spec.data or {}), spec_source=spec.source, paused=False,
                created_at=now, updated_at=now, next_fire_at=next_firing(sched.cron, sched.timezone, now),
            ).execute()
            self.schedule_event(schedule_id, "created", actor=actor, detail=f"{sched.cron} ({sched.timezone})")
        return self.get_schedule(schedule_id)

    def get_schedule(self, ref: str) -> Any:
        return self._resolve(self.m.Schedule, self.m.Schedule.schedule_id, ref, "schedule")

    def list_schedules(self) -> list[Any]:
        Schedule = self.m.Schedule
        return list(Schedule.select().order_by(Schedule.next_fire_at, Schedule.schedule_id))

    def pause_schedule(self, ref: str, actor: str = "cli") -> Any:
        return self._set_paused(ref, True, actor)

    def resume_schedule(self, ref: str, actor: str = "cli") -> Any:
        """Resume from now: firings that fell while it was paused were not missed, they were
        not wanted (no `missed` catch-up for them)."""
        return self._set_paused(ref, False, actor)

    def _set_paused(self, ref: str, paused: bool, actor: str) -> Any:
        with self.atomic():
            row = self.get_schedule(ref)
            if row.paused == paused:
                raise IllegalTransition(f"schedule {row.schedule_id[:8]} is already {'paused' if paused else 'active'}")
            changes: dict[str, Any] = {"paused": paused, "updated_at": self.now()}
            if not paused:
                changes["next_fire_at"] = next_firing(row.cron, row.timezone, self.lease_now())
            self._update_by_id(self.m.Schedule, row.schedule_id, changes)
            self.schedule_event(row.schedule_id, "paused" if paused else "resumed", actor=actor)
        return self.get_schedule(row.schedule_id)

    def remove_schedule(self, ref: str, actor: str = "cli") -> str:
        """Delete a schedule (its flows stay, still carrying its id); returns its id."""
        with self.atomic():
            row = self.get_schedule(ref)
            self.m.Schedule.delete().where(self.m.Schedule.schedule_id == row.schedule_id).execute()
            self.schedule_event(row.schedule_id, "removed", actor=actor)
            self._notify()
        return str(row.schedule_id)

    def schedule_event(self, schedule_id: str, kind: str, *, fire_at: int | None = None,
                       flow_id: str | None = None, actor: str = "system", detail: str | None = None) -> None:
        self._notify()
        self.m.ScheduleEvent.insert(schedule_id=schedule_id, at=self.now(), kind=kind, fire_at=fire_at,
                                    flow_id=flow_id, actor=actor[:64], detail=detail).execute()

    def schedule_events(self, schedule_id: str, limit: int = 50) -> list[Any]:
        """The latest events of a schedule, oldest first."""
        Ev = self.m.ScheduleEvent
        rows = list(Ev.select().where(Ev.schedule_id == schedule_id).order_by(Ev.id.desc()).limit(limit))
        return rows[::-1]

    def schedule_flows(self, schedule_id: str, limit: int = 10) -> list[Any]:
        """The schedule's latest flows, newest firing first."""
        Flow = self.m.Flow
        return list(Flow.select().where(Flow.schedule_id == schedule_id)
                    .order_by(Flow.fire_at.desc()).limit(limit))

    def flow_live(self, flow_id: str | None) -> bool:
        if not flow_id:
            return False
        row = self.m.Flow.get_or_none(self.m.Flow.flow_id == flow_id)
        return row is not None and row.status in ACTIVE_FLOW

    def due_schedule_ids(self, now: int) -> list[str]:
        """Schedules with a firing due, or a queued firing waiting for its previous flow."""
        Schedule = self.m.Schedule
        query = Schedule.select(Schedule.schedule_id).where(
            (Schedule.paused == False) & ((Schedule.next_fire_at <= now)  # noqa: E712 - SQL, not Python
                                          | Schedule.pending_fire_at.is_null(False)))
        return [row.schedule_id for row in query]

    def lock_schedule(self, schedule_id: str) -> Any:
        """The schedule row, locked for this transaction on PostgreSQL (SQLite's write lock
        already serializes), or None when it was removed meanwhile."""
        Schedule = self.m.Schedule
        query = Schedule.select().where(Schedule.schedule_id == schedule_id)
        if not self.is_sqlite:
            query = query.for_update()
        return query.first()
