"""Every write that moves a flow or a task: one transaction each, with its events.

This is the only code that writes status columns. A refused operation raises a
`LedgerError` and changes nothing (the transaction rolls back).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .core import LedgerBase, new_id
from .errors import IllegalTransition, StaleOwner
from .notify import QUEUED
from .spec import FlowSpec
from .states import (
    ACTIVE_TASK,
    REOPENABLE_FLOW,
    RETRYABLE_TASK,
    TERMINAL_TASK,
    can_transition,
)
from .states import TaskStatus as T

MAX_BACKOFF_S = 300.0
MAX_TEXT = 2000
LOG_TAIL_MAX = 16 * 1024  # characters of a task's latest output kept in the ledger (issue 6)


def _clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    if text is None:
        return None
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Candidate(NamedTuple):
    task_id: str
    flow_id: str
    after_json: str
    created_at: int


class Transitions(LedgerBase):
    # -- submit ---------------------------------------------------------------------

    def submit(self, spec: FlowSpec, actor: str = "cli") -> tuple[str, dict[str, str]]:
        """Add a flow and its tasks. Returns the flow id and {label: task_id}."""
        Flow, Task = self.m.Flow, self.m.Task
        now = self.now()
        flow_id = new_id()
        ids = {t.label: new_id() for t in spec.tasks}
        with self.atomic():
            Flow.insert(
                flow_id=flow_id, goal=spec.goal, label=spec.label, notify=spec.notify,
                status="queued", created_at=now, updated_at=now, spec_source=spec.source,
            ).execute()
            self._event(flow_id, "submitted", dst="queued", actor=actor, detail=spec.goal)
            for t in spec.tasks:
                status = T.AWAITING_APPROVAL if t.requires_approval else T.QUEUED
                Task.insert(
                    task_id=ids[t.label], flow=flow_id, label=t.label, runtime=t.runtime,
                    status=status, attempt=1, command_json=json.dumps(t.command),
                    shell=t.shell, cwd=t.cwd, env_json=json.dumps(t.env) if t.env else None,
                    timeout_s=t.timeout_s, retries=t.retries, retry_backoff_s=t.retry_backoff_s,
                    after_json=json.dumps(list(t.after)), requires_approval=t.requires_approval,
                    created_at=now, last_event_at=now,
                ).execute()
                self._event(flow_id, "task_added", task_id=ids[t.label], dst=status, actor=actor)
            self._recompute_flow(flow_id, actor)
        return flow_id, ids

    # -- approval -------------------------------------------------------------------

    def approve(self, ref: str, actor: str = "cli") -> Any:
        with self.atomic():
            task = self._latest_for_action(ref, "approve")
            if task.status != T.AWAITING_APPROVAL:
                raise IllegalTransition(
                    f"task {task.task_id[:8]} is {task.status}, not awaiting_approval: nothing to approve"
                )
            now = self.now()
            self._set_status(task, T.QUEUED, actor, kind="approved", extra={"approved_at": now})
            self._recompute_flow(task.flow_id, actor)
        return self.get_task(task.task_id)

    def deny(self, ref: str, actor: str = "cli", reason: str | None = None) -> Any:
        with self.atomic():
            task = self._latest_for_action(ref, "deny")
            if task.status != T.AWAITING_APPROVAL:
                raise IllegalTransition(
                    f"task {task.task_id[:8]} is {task.status}, not awaiting_approval: nothing to deny"
                )
            error = "denied by operator" + (f": {reason}" if reason else "")
            self._settle(task, T.CANCELLED, actor, kind="denied", error=error)
        return self.get_task(task.task_id)

    # -- cancel ---------------------------------------------------------------------

    def cancel_task(self, ref: str, actor: str = "cli") -> Any:
        """Queued or awaiting: cancelled at once. Running: the owner stops it and records it."""
        with self.atomic():
            task = self._latest_for_action(ref, "cancel")
            if task.status in TERMINAL_TASK:
                raise IllegalTransition(f"task {task.task_id[:8]} is already {task.status}")
            self._cancel_one(task, actor, "cancelled by operator")
            self._recompute_flow(task.flow_id, actor)
        return self.get_task(task.task_id)

    def cancel_flow(self, ref: str, actor: str = "cli") -> Any:
        """Sticky: nothing new starts, queued work is cancelled, running work is stopped."""
        Flow = self.m.Flow
        with self.atomic():
            flow = self._flow_for_write(ref)
            if flow.cancel_requested_at is not None and flow.status in ("cancelled",):
                raise IllegalTransition(f"flow {flow.flow_id[:8]} is already cancelled")
            live = [t for t in self.latest_attempts(flow.flow_id) if t.status in ACTIVE_TASK]
            if not live and flow.cancel_requested_at is None and flow.status not in ("queued",):
                raise IllegalTransition(
                    f"flow {flow.flow_id[:8]} is {flow.status}: nothing left to cancel"
                )
            now = self.now()
            if flow.cancel_requested_at is None:
                Flow.update(cancel_requested_at=now).where(Flow.flow_id == flow.flow_id).execute()
                self._event(flow.flow_id, "cancel_requested", actor=actor)
            for task in live:
                self._cancel_one(task, actor, "flow cancelled by operator", cascade=False)
            self._recompute_flow(flow.flow_id, actor)
        return self.get_flow(flow.flow_id)

    def _cancel_one(self, task: Any, actor: str, why: str, cascade: bool = True) -> None:
        Task = self.m.Task
        if task.status == T.RUNNING:
            if task.cancel_requested_at is None:
                now = self.now()
                Task.update(cancel_requested_at=now, last_event_at=now).where(
                    Task.task_id == task.task_id
                ).execute()
                self._event(task.flow_id, "cancel_requested", task_id=task.task_id,
                            src=task.status, actor=actor)
            return
        self._settle(task, T.CANCELLED, actor, kind="cancelled", error=why, cascade=cascade,
                     recompute=False)

    # -- retry and reopen -------------------------------------------------------------

    def retry(self, ref: str, actor: str = "cli") -> Any:
        """A new attempt of a task whose latest attempt is terminal (any terminal status)."""
        with self.atomic():
            task = self._latest_for_action(ref, "retry")
            if task.status not in TERMINAL_TASK:
                raise IllegalTransition(
                    f"task {task.task_id[:8]} is {task.status}: only a finished task can be retried"
                )
            flow = self.m.Flow.get_by_id(task.flow_id)
            if flow.cancel_requested_at is not None:
                raise IllegalTransition(
                    f"flow {flow.flow_id[:8]} was cancelled: reopen the flow instead "
                    f"(openclaw-board flows reopen {flow.flow_id[:8]})"
                )
            self._refuse_dead_dependencies(task)
            new = self._new_attempt(task, actor, kind="retried")
            self._revive_dependents(task.flow_id, {task.label}, actor)
            self._recompute_flow(task.flow_id, actor)
        return new

    def reopen(self, ref: str, actor: str = "cli") -> Any:
        Flow = self.m.Flow
        with self.atomic():
            flow = self._flow_for_write(ref)
            if flow.status not in REOPENABLE_FLOW:
                raise IllegalTransition(
                    f"flow {flow.flow_id[:8]} is {flow.status}: only a blocked, failed, "
                    "cancelled or lost flow can be reopened"
                )
            Flow.update(cancel_requested_at=None).where(Flow.flow_id == flow.flow_id).execute()
            self._event(flow.flow_id, "reopened", src=flow.status, actor=actor)
            for task in self.latest_attempts(flow.flow_id):
                if task.status != T.SUCCEEDED:
                    self._new_attempt(task, actor, kind="retried")
            self._recompute_flow(flow.flow_id, actor)
        return self.get_flow(flow.flow_id)

    def _new_attempt(self, old: Any, actor: str, kind: str, not_before: int | None = None) -> Any:
        Task = self.m.Task
        now = self.now()
        fresh_approval = old.requires_approval and old.approved_at is None
        status = T.AWAITING_APPROVAL if fresh_approval else T.QUEUED
        Task.update(is_latest=False).where(Task.task_id == old.task_id).execute()
        task_id = new_id()
        Task.insert(
            task_id=task_id, flow=old.flow_id, label=old.label, runtime=old.runtime,
            status=status, attempt=old.attempt + 1, parent_task_id=old.task_id,
            command_json=old.command_json, shell=old.shell, cwd=old.cwd, env_json=old.env_json,
            timeout_s=old.timeout_s, retries=old.retries, retry_backoff_s=old.retry_backoff_s,
            after_json=old.after_json, requires_approval=old.requires_approval,
            approved_at=old.approved_at, not_before=not_before, created_at=now, last_event_at=now,
        ).execute()
        self._event(old.flow_id, kind, task_id=task_id, src=old.status, dst=status, actor=actor,
                    detail=f"attempt {old.attempt + 1} of {old.label!r} (after {old.task_id[:8]})")
        return Task.get_by_id(task_id)

    def _refuse_dead_dependencies(self, task: Any) -> None:
        """A retry whose dependency ended without success would queue work that never starts."""
        latest = {t.label: t.status for t in self.latest_attempts(task.flow_id)}
        for dep in self.after_of(task):
            if latest.get(dep) in TERMINAL_TASK and latest.get(dep) != T.SUCCEEDED:
                raise IllegalTransition(
                    f"task {task.task_id[:8]} waits on {dep!r}, which ended {latest[dep]}: retry {dep!r} "
                    "first (its dependents come with it) or reopen the flow"
                )

    def _revive_dependents(self, flow_id: str, labels: set[str], actor: str) -> None:
        """Retrying a task also retries what was cancelled because it failed."""
        latest = {t.label: t for t in self.latest_attempts(flow_id)}
        revived = set(labels)

        def dead(dep: str) -> bool:
            status = latest[dep].status if dep in latest else None
            return dep not in revived and status in TERMINAL_TASK and status != T.SUCCEEDED

        changed = True
        while changed:
            changed = False
            for label, task in latest.items():
                if label in revived or task.status != T.CANCELLED:
                    continue
                if not (task.error or "").startswith("dependency "):
                    continue
                after = set(self.after_of(task))
                if after & revived and not any(dead(dep) for dep in after):
                    self._new_attempt(task, actor, kind="retried")
                    revived.add(label)
                    changed = True

    # -- the supervisor's writes ------------------------------------------------------

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
            self.claim_contended = False
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

    # -- helpers ----------------------------------------------------------------------

    def _flow_for_write(self, ref: str) -> Any:
        flow = self.get_flow(ref)
        self._lock_flow(flow.flow_id)
        return self.m.Flow.get_by_id(flow.flow_id)  # as it is now that we hold it

    def _latest_for_action(self, ref: str, verb: str) -> Any:
        task = self.get_task(ref)
        self._lock_flow(task.flow_id)
        task = self.m.Task.get_by_id(task.task_id)  # as it is now that we hold the flow
        if not task.is_latest:
            latest = (
                self.m.Task.select()
                .where((self.m.Task.flow == task.flow_id) & (self.m.Task.label == task.label)
                       & (self.m.Task.is_latest == True))  # noqa: E712
                .first()
            )
            newer = latest.task_id[:8] if latest else "?"
            raise IllegalTransition(
                f"task {task.task_id[:8]} is attempt {task.attempt}, not the latest "
                f"({newer}): {verb} the latest attempt"
            )
        return task

    def _set_status(self, task: Any, dst: str, actor: str, kind: str,
                    extra: dict[str, Any] | None = None, detail: str | None = None) -> None:
        if not can_transition(task.status, dst):
            raise IllegalTransition(f"task {task.task_id[:8]}: {task.status} -> {dst} is not allowed")
        Task = self.m.Task
        now = max(self.now(), task.created_at)
        changes: dict[str, Any] = {"status": dst, "last_event_at": now, **(extra or {})}
        Task.update(**changes).where(Task.task_id == task.task_id).execute()
        self._event(task.flow_id, kind, task_id=task.task_id, src=task.status, dst=dst,
                    actor=actor, detail=detail)

    def _settle(self, task: Any, dst: str, actor: str, kind: str, *, error: str | None = None,
                exit_code: int | None = None, terminal_summary: str | None = None,
                cascade: bool = True, recompute: bool = True) -> None:
        """Move a task to a terminal status, then retry it or cancel what waited on it."""
        now = self.now()
        ended = max(now, task.started_at or task.created_at, task.created_at)
        extra: dict[str, Any] = {"ended_at": ended, "error": _clip(error)}
        if exit_code is not None:
            extra["exit_code"] = exit_code
        if terminal_summary is not None:
            extra["terminal_summary"] = _clip(terminal_summary, 500)
        detail = error if exit_code is None else f"exit {exit_code}" + (f": {error}" if error else "")
        self._set_status(task, dst, actor, kind, extra, detail=_clip(detail, 500))
        flow = self.m.Flow.get_by_id(task.flow_id)
        # No automatic retry of a run the operator asked to stop (task or sticky flow cancel).
        if (dst in RETRYABLE_TASK and task.attempt <= task.retries
                and flow.cancel_requested_at is None and task.cancel_requested_at is None):
            backoff = min(MAX_BACKOFF_S, task.retry_backoff_s * (2 ** (task.attempt - 1)))
            fresh = self.m.Task.get_by_id(task.task_id)
            self._new_attempt(fresh, "system", kind="auto_retry", not_before=now + int(backoff * 1000))
        elif dst != T.SUCCEEDED and cascade:
            self._cancel_dependents(task.flow_id, task.label, dst, actor)
        elif dst == T.SUCCEEDED and self.notify_channel and self._has_waiting(task.flow_id):
            self._notify(QUEUED)  # dependents may be claimable now: wake the supervisors
        if recompute:
            self._recompute_flow(task.flow_id, actor)

    def _has_waiting(self, flow_id: str) -> bool:
        Task = self.m.Task
        return (Task.select(Task.task_id)
                .where((Task.flow == flow_id) & (Task.is_latest == True)  # noqa: E712
                       & (Task.status == T.QUEUED) & (Task.after_json != "[]"))
                .exists())

    def _cancel_dependents(self, flow_id: str, label: str, outcome: str, actor: str) -> None:
        """Work that waits on a task that will not succeed can never run: say so."""
        latest = self.latest_attempts(flow_id)
        dead = {label}
        changed = True
        while changed:
            changed = False
            for task in latest:
                if task.label in dead or task.status not in (T.QUEUED, T.AWAITING_APPROVAL):
                    continue
                blockers = dead & set(self.after_of(task))
                if blockers:
                    why = f"dependency {sorted(blockers)[0]!r} ended {outcome}"
                    self._settle(task, T.CANCELLED, actor, kind="cancelled", error=why,
                                 cascade=False, recompute=False)
                    task.status = T.CANCELLED
                    dead.add(task.label)
                    changed = True
