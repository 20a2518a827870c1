"""The supervisor's side of the ledger: claiming runnable work and recording what its
processes did (start, progress, finish, lost), fenced so that only the current owner writes.

Operator transitions live in `transitions.py`; both end in the same `_settle`.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .errors import IllegalTransition, StaleOwner
from .states import TERMINAL_TASK
from .states import TaskStatus as T
from .transitions import LOG_TAIL_MAX, Transitions, _clip


class _Candidate(NamedTuple):
    task_id: str
    flow_id: str
    after_json: str
    created_at: int


class Runs(Transitions):
    def claim(
        self,
        supervisor_id: str,
        host: str,
        *,
        exclude_runtimes: frozenset[str] = frozenset(),
        generation: int | None = None,
    ) -> Any | None:
        """The next runnable task, moved to running and owned by this supervisor; or None."""
        Task, Flow = self.m.Task, self.m.Flow
        now = self.now()
        self.claim_contended = False
        if self.is_sqlite and not self._anything_runnable(now, exclude_runtimes):
            # SQLite has one write lock for the whole file: an idle supervisor polling with
            # BEGIN IMMEDIATE would make every operator's write wait behind it. Look first.
            return None
        with self.atomic():
            # Only the columns a pick needs, as plain tuples: building 200 full rows per claim
            # was most of a claim's cost (the one picked is re-read whole below).
            query = (
                Task.select(Task.task_id, Task.flow, Task.after_json, Task.created_at)
                .join(Flow)
                .where(
                    (Task.is_latest == True)  # noqa: E712
                    & (Task.status == T.QUEUED)
                    & (Task.not_before.is_null() | (Task.not_before <= now))
                    & Flow.cancel_requested_at.is_null()
                )
                # Oldest first; the label breaks ties so that the order is the same every time.
                .order_by(Task.created_at, Task.attempt, Task.label)
                .limit(200)
            )
            if exclude_runtimes:
                query = query.where(Task.runtime.not_in(list(exclude_runtimes)))
            sup = self.m.Supervisor.get_or_none(self.m.Supervisor.supervisor_id == supervisor_id)
            if sup is not None and sup.stopped_at is not None:
                raise StaleOwner(f"supervisor {supervisor_id[:8]} was stopped or declared dead: it may not claim")
            if generation is None and sup is not None:
                generation = sup.generation
            done: dict[str, dict[str, str]] = {}
            busy: set[str] = set()  # flows another writer holds: skip all their candidates at once
            for row in list(query.tuples()):
                task = _Candidate(*row)
                if not self.is_sqlite:
                    if task.flow_id in busy:
                        continue
                    task = self._hold_candidate(task, busy)
                    if task is None:
                        continue
                after = self.after_of(task)
                if after:
                    if task.flow_id not in done:
                        done[task.flow_id] = {
                            t.label: t.status for t in self.latest_attempts(task.flow_id)
                        }
                    if any(done[task.flow_id].get(label) != T.SUCCEEDED for label in after):
                        continue
                started = max(now, task.created_at)
                updated = (
                    Task.update(
                        status=T.RUNNING, supervisor_id=supervisor_id, host=host,
                        started_at=started, last_event_at=started, owner_token=generation,
                        ended_at=None,
                    )
                    .where((Task.task_id == task.task_id) & (Task.status == T.QUEUED))
                    .execute()
                )
                if updated != 1:
                    continue
                self._event(task.flow_id, "claimed", task_id=task.task_id, src=T.QUEUED,
                            dst=T.RUNNING, actor=f"supervisor:{supervisor_id[:8]}", detail=host)
                self._recompute_flow(task.flow_id, f"supervisor:{supervisor_id[:8]}")
                return Task.get_by_id(task.task_id)
        return None

    def _anything_runnable(self, now: int, exclude_runtimes: frozenset[str]) -> bool:
        """A read, outside any write transaction: is there a queued task whose wait is over
        and whose dependencies all succeeded? (The claim checks again under the lock.)"""
        Task, Flow = self.m.Task, self.m.Flow
        query = (
            Task.select(Task.flow, Task.after_json).join(Flow)
            .where((Task.is_latest == True) & (Task.status == T.QUEUED)  # noqa: E712
                   & (Task.not_before.is_null() | (Task.not_before <= now))
                   & Flow.cancel_requested_at.is_null())
            .limit(200)
        )
        if exclude_runtimes:
            query = query.where(Task.runtime.not_in(list(exclude_runtimes)))
        done: dict[str, dict[str, str]] = {}
        for flow_id, after_json in query.tuples():
            after = json.loads(after_json or "[]")
            if not after:
                return True
            if flow_id not in done:
                done[flow_id] = {t.label: t.status for t in self.latest_attempts(flow_id)}
            if all(done[flow_id].get(label) == T.SUCCEEDED for label in after):
                return True
        return False

    def _hold_candidate(self, candidate: Any, busy: set[str] | None = None) -> Any | None:
        """PostgreSQL: lock the candidate's flow and re-read it; None when it is no longer claimable.

        A flow another writer holds is skipped, not waited for, so that claims never queue up.
        Then `claim_contended` is set: a claim that found nothing may have missed work held by
        others for a moment (a supervisor then looks again soon instead of going idle).
        """
        if not self._lock_flow(candidate.flow_id, skip_locked=True):
            self.claim_contended = True
            if busy is not None:
                busy.add(candidate.flow_id)
            return None
        task = self.m.Task.get_by_id(candidate.task_id)
        if not task.is_latest or task.status != T.QUEUED:
            return None
        if self.m.Flow.get_by_id(task.flow_id).cancel_requested_at is not None:
            return None
        return task

    def _owned(self, task_id: str, supervisor_id: str | None) -> Any:
        task = self.m.Task.get_by_id(task_id)
        self._lock_flow(task.flow_id)
        task = self.m.Task.get_by_id(task_id)  # as it is now that we hold the flow
        if supervisor_id is not None and task.supervisor_id != supervisor_id:
            raise StaleOwner(
                f"task {task_id[:8]} is owned by supervisor {str(task.supervisor_id)[:8]}, "
                f"not {supervisor_id[:8]}: write refused"
            )
        if supervisor_id is not None:
            self._check_fence(task, supervisor_id)
        if task.status != T.RUNNING:
            raise IllegalTransition(f"task {task_id[:8]} is {task.status}, not running")
        return task

    def _check_fence(self, task: Any, supervisor_id: str) -> None:
        """Fencing (issue 6): a supervisor that was stopped or declared dead (its lease ran
        out and its runs were settled elsewhere), or that claimed under an older generation,
        may not write about the task any more."""
        S = self.m.Supervisor
        sup = S.get_or_none(S.supervisor_id == supervisor_id)
        if sup is None:
            return  # an unregistered writer (scripts, tests): ownership by id only
        if sup.stopped_at is not None:
            raise StaleOwner(
                f"supervisor {supervisor_id[:8]} on {sup.host} was stopped or declared dead "
                f"(generation {sup.generation}): its write about task {task.task_id[:8]} is refused"
            )
        if task.owner_token is not None and task.owner_token != sup.generation:
            raise StaleOwner(
                f"task {task.task_id[:8]} was claimed under generation {task.owner_token} of supervisor "
                f"{supervisor_id[:8]}, now at generation {sup.generation}: write refused"
            )

    def record_process(
        self, task_id: str, supervisor_id: str, pid: int, pid_start: int | None, run_dir: str
    ) -> None:
        Task = self.m.Task
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            Task.update(pid=pid, pid_start=pid_start, run_dir=run_dir,
                        last_event_at=self.now()).where(Task.task_id == task_id).execute()
            self._event(task.flow_id, "started", task_id=task_id,
                        actor=f"supervisor:{supervisor_id[:8]}", detail=f"pid {pid}")

    def report_progress(
        self, task_id: str, supervisor_id: str | None, *, progress: float | None = None,
        summary: str | None = None, log_tail: str | None = None,
    ) -> None:
        Task = self.m.Task
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            changes: dict[Any, Any] = {Task.last_event_at: self.now()}
            parts = []
            if progress is not None:
                # Rounded: PostgreSQL stores it as REAL, which refuses values like 1e-245.
                changes[Task.progress] = round(max(0.0, min(100.0, float(progress))), 2)
                parts.append(f"{changes[Task.progress]:g}%")
            if summary is not None:
                changes[Task.progress_summary] = _clip(summary, 500)
                parts.append(_clip(summary, 500) or "")
            if log_tail is not None:
                changes[Task.log_tail] = log_tail.replace("\x00", "")[-LOG_TAIL_MAX:]
            Task.update(changes).where(Task.task_id == task_id).execute()
            self._notify()
            if parts:
                self._event(task.flow_id, "progress", task_id=task_id, actor="task",
                            detail=" ".join(parts))

    def finish(
        self, task_id: str, status: str, *, supervisor_id: str | None = None,
        exit_code: int | None = None, error: str | None = None,
        terminal_summary: str | None = None, actor: str | None = None,
    ) -> Any:
        """Record how a running task ended; retries it automatically when its spec allows."""
        if status not in TERMINAL_TASK:
            raise IllegalTransition(f"{status} is not a terminal status")
        actor = actor or (f"supervisor:{supervisor_id[:8]}" if supervisor_id else "system")
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            self._settle(task, status, actor, kind="finished", error=error,
                         exit_code=exit_code, terminal_summary=terminal_summary)
        return self.m.Task.get_by_id(task_id)

    def mark_lost(self, task_id: str, reason: str, actor: str = "system") -> Any:
        with self.atomic():
            task = self._owned(task_id, None)
            self._settle(task, T.LOST, actor, kind="lost", error=reason)
        return self.m.Task.get_by_id(task_id)
