"""Supervisors in the ledger: registration, heartbeats, leases, and taking over runs.

A supervisor registers (id, host, pid, process start time) and heartbeats. A running task
names the supervisor that owns it; a supervisor that starts on the same host may adopt
the runs of one that is gone, and only the owner may record their results. Heartbeats
are stamped, and liveness judged, on the lease clock (leases.py).
"""

from __future__ import annotations

from typing import Any

from .core import LedgerBase, new_id, tuples
from .errors import IllegalTransition
from .models import SupervisorModel, TaskModel
from .notify import SUPERVISOR
from .states import TaskStatus as T

DEFAULT_LEASE_MS = 15_000


class Supervisors(LedgerBase):
    def register_supervisor(
        self, host: str, pid: int, pid_start: int | None, *, concurrency: int = 1,
        mode: str = "standalone", lease_ms: int = DEFAULT_LEASE_MS,
    ) -> Any:
        S = self.m.Supervisor
        now = self.now()
        sid = new_id()
        with self.atomic():
            S.insert(supervisor_id=sid, host=host, pid=pid, pid_start=pid_start, started_at=now,
                     heartbeat_at=self._lease_stamp(), lease_ms=lease_ms, concurrency=concurrency,
                     mode=mode).execute()
            self._notify(SUPERVISOR)
        return S.get_by_id(sid)

    def heartbeat(self, supervisor_id: str) -> bool:
        """Renew the lease. False when the row is gone or was declared dead: stop writing.
        (No notification: a heartbeat a second per supervisor would wake every listener.)"""
        S = self.m.Supervisor
        with self.atomic():
            n = S.update(heartbeat_at=self._lease_stamp()).where(
                (S.supervisor_id == supervisor_id) & S.stopped_at.is_null()
            ).execute()
        return n == 1

    def supervisor_stopped(self, supervisor_id: str) -> None:
        S = self.m.Supervisor
        with self.atomic():
            S.update(stopped_at=self.now()).where(S.supervisor_id == supervisor_id).execute()
            self._notify(SUPERVISOR)

    def supervisors(self, *, live_only: bool = False) -> list[SupervisorModel]:
        S = self.m.Supervisor
        query = S.select().order_by(S.heartbeat_at.desc())
        rows = list(query.limit(200))
        if live_only:
            now = self.lease_now()
            rows = [s for s in rows if self.supervisor_alive(s, now)]
        return rows

    def running_on_host(self, host: str) -> list[TaskModel]:
        Task = self.m.Task
        return list(
            Task.select().where((Task.status == T.RUNNING) & (Task.host == host))
            .order_by(Task.started_at)
        )

    def cancel_requests(self, supervisor_id: str) -> list[TaskModel]:
        Task = self.m.Task
        return list(
            Task.select().where(
                (Task.status == T.RUNNING) & (Task.supervisor_id == supervisor_id)
                & Task.cancel_requested_at.is_null(False)
            )
        )

    def adopt(self, task_id: str, supervisor_id: str, generation: int | None = None) -> TaskModel:
        """Take over a running task whose owner is gone (same host: the process may live)."""
        Task, S = self.m.Task, self.m.Supervisor
        with self.atomic():
            task = Task.get_by_id(task_id)
            if task.status != T.RUNNING:
                raise IllegalTransition(f"task {task_id[:8]} is {task.status}, not running")
            if task.supervisor_id == supervisor_id:
                return task
            owner = S.get_or_none(S.supervisor_id == task.supervisor_id)
            if owner is not None and self.supervisor_alive(owner):
                raise IllegalTransition(
                    f"task {task_id[:8]} is owned by live supervisor {owner.supervisor_id[:8]}"
                )
            if generation is None:
                mine = S.get_or_none(S.supervisor_id == supervisor_id)
                generation = mine.generation if mine is not None else None
            Task.update(supervisor_id=supervisor_id, owner_token=generation,
                        last_event_at=self.now()).where(Task.task_id == task_id).execute()
            self._event(task.flow_id, "adopted", task_id=task_id,
                        actor=f"supervisor:{supervisor_id[:8]}",
                        detail=f"from supervisor {str(task.supervisor_id)[:8]}")
        return Task.get_by_id(task_id)

    # -- what the supervisor needs for recovery and --until-idle ---------------------------

    def declare_supervisor_dead(self, supervisor_id: str) -> bool:
        """Mark a supervisor stopped because its process is verifiably gone (same host:
        pid gone or reused). Its lease may still look fresh after a kill -9; this lets a
        successor adopt its runs at once. True when the row changed."""
        S = self.m.Supervisor
        with self.atomic():
            n = S.update(stopped_at=self.now(), generation=S.generation + 1).where(
                (S.supervisor_id == supervisor_id) & S.stopped_at.is_null()
            ).execute()
            if n:
                self._notify(SUPERVISOR)
        return n == 1

    def work_outlook(self) -> dict[str, int]:
        """Counts that say whether more work may come: queued latest attempts ready now or
        waiting on a retry backoff; running tasks whose owner supervisor is alive; and running
        tasks whose owner missed its lease but was not declared dead yet (`running_unjudged`:
        the next lease check, or recovery on its host, settles them, and their retries may
        follow: `--until-idle` must wait for that judgement before it calls itself idle)."""
        Task, S = self.m.Task, self.m.Supervisor
        now = self.now()
        queued = tuples(Task.select(Task.not_before).where(
            (Task.is_latest == True) & (Task.status == T.QUEUED)  # noqa: E712
        ))
        ready = later = 0
        for (not_before,) in queued:
            if not_before is not None and not_before > now:
                later += 1
            else:
                ready += 1
        owners = [r[0] for r in tuples(Task.select(Task.supervisor_id).where(Task.status == T.RUNNING))]
        lease_now = self.lease_now()
        alive, unjudged = set(), set()
        for s in S.select().where(S.supervisor_id.in_(list(set(owners)) or [""])):
            if self.supervisor_alive(s, lease_now):
                alive.add(s.supervisor_id)
            elif s.stopped_at is None:
                unjudged.add(s.supervisor_id)
        return {"queued_ready": ready, "queued_later": later,
                "running_live": sum(1 for o in owners if o in alive),
                "running_unjudged": sum(1 for o in owners if o in unjudged)}
