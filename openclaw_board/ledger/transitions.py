"""Every write that moves a flow or a task: one transaction each, with its events.

This is the only code that writes status columns. A refused operation raises a
`LedgerError` and changes nothing (the transaction rolls back).
"""

from __future__ import annotations

import json
from typing import Any

from .core import LedgerBase, new_id
from .errors import IllegalTransition
from .models import FlowModel, TaskModel
from .settle import new_attempt, set_status, settle
from .spec import FlowSpec
from .states import ACTIVE_TASK, REOPENABLE_FLOW, TERMINAL_TASK
from .states import TaskStatus as T


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

    def approve(self, ref: str, actor: str = "cli") -> TaskModel:
        with self.atomic():
            task = self._latest_for_action(ref, "approve")
            if task.status != T.AWAITING_APPROVAL:
                raise IllegalTransition(
                    f"task {task.task_id[:8]} is {task.status}, not awaiting_approval: nothing to approve"
                )
            now = self.now()
            set_status(self, task, T.QUEUED, actor, kind="approved", extra={"approved_at": now})
            self._recompute_flow(task.flow_id, actor)
        return self.get_task(task.task_id)

    def deny(self, ref: str, actor: str = "cli", reason: str | None = None) -> TaskModel:
        with self.atomic():
            task = self._latest_for_action(ref, "deny")
            if task.status != T.AWAITING_APPROVAL:
                raise IllegalTransition(
                    f"task {task.task_id[:8]} is {task.status}, not awaiting_approval: nothing to deny"
                )
            error = "denied by operator" + (f": {reason}" if reason else "")
            settle(self, task, T.CANCELLED, actor, kind="denied", error=error)
        return self.get_task(task.task_id)

    # -- cancel ---------------------------------------------------------------------

    def cancel_task(self, ref: str, actor: str = "cli") -> TaskModel:
        """Queued or awaiting: cancelled at once. Running: the owner stops it and records it."""
        with self.atomic():
            task = self._latest_for_action(ref, "cancel")
            if task.status in TERMINAL_TASK:
                raise IllegalTransition(f"task {task.task_id[:8]} is already {task.status}")
            self._cancel_one(task, actor, "cancelled by operator")
            self._recompute_flow(task.flow_id, actor)
        return self.get_task(task.task_id)

    def cancel_flow(self, ref: str, actor: str = "cli") -> FlowModel:
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
        settle(self, task, T.CANCELLED, actor, kind="cancelled", error=why, cascade=cascade,
               recompute=False)

    # -- retry and reopen -------------------------------------------------------------

    def retry(self, ref: str, actor: str = "cli") -> TaskModel:
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
            new = new_attempt(self, task, actor, kind="retried")
            self._revive_dependents(task.flow_id, {task.label}, actor)
            self._recompute_flow(task.flow_id, actor)
        return new

    def reopen(self, ref: str, actor: str = "cli") -> FlowModel:
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
                    new_attempt(self, task, actor, kind="retried")
            self._recompute_flow(flow.flow_id, actor)
        return self.get_flow(flow.flow_id)

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
                    new_attempt(self, task, actor, kind="retried")
                    revived.add(label)
                    changed = True

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
