"""The moves every writer shares: a task's status change with its event, settling a task
(its automatic retry, or the cancel of what waited on it), a new attempt.

Operator actions (transitions.py), the supervisor's records (runs.py) and lease expiry
(leases.py) all end here, inside their own transaction, with the flow already held.
"""

from __future__ import annotations

from typing import Any

from .core import LedgerBase, new_id
from .errors import IllegalTransition
from .models import TaskModel
from .notify import QUEUED
from .outcome_text import outcome_text
from .states import RETRYABLE_TASK, can_transition
from .states import TaskStatus as T

MAX_BACKOFF_S = 300.0
MAX_TEXT = 2000
LOG_TAIL_MAX = 16 * 1024  # characters of a task's latest output kept in the ledger


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    if text is None:
        return None
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def set_status(led: LedgerBase, task: Any, dst: str, actor: str, kind: str,
               extra: dict[str, Any] | None = None, detail: str | None = None, check: bool = True) -> None:
    """`check=False` only for the two moves outside the table, each guarded by its own
    method: a claim withdrawn before its command started (Runs.requeue_unstarted) and a
    retry made needless by a late result (Leases.record_late_result)."""
    if check and not can_transition(task.status, dst):
        raise IllegalTransition(f"task {task.task_id[:8]}: {task.status} -> {dst} is not allowed")
    now = max(led.now(), task.created_at)
    changes: dict[str, Any] = {"status": dst, "last_event_at": now, **(extra or {})}
    led._update_by_id(led.m.Task, task.task_id, changes)
    led._event(task.flow_id, kind, task_id=task.task_id, src=task.status, dst=dst,
               actor=actor, detail=detail)


def settle(led: LedgerBase, task: Any, dst: str, actor: str, kind: str, *, error: str | None = None,
           exit_code: int | None = None, terminal_summary: str | None = None,
           cascade: bool = True, recompute: bool = True, note: str | None = None,
           check: bool = True) -> None:
    """Move a task to a terminal status, then retry it or cancel what waited on it.
    `note` is added to the event's detail (who found the result, and how)."""
    now = led.now()
    ended = max(now, task.started_at or task.created_at, task.created_at)
    extra: dict[str, Any] = {"ended_at": ended, "error": clip(error)}
    if exit_code is not None:
        extra["exit_code"] = exit_code
    if terminal_summary is not None:
        extra["terminal_summary"] = clip(terminal_summary, 500)
    detail = outcome_text(exit_code, error) or None
    if note:
        detail = f"{detail}; {note}" if detail else note
    set_status(led, task, dst, actor, kind, extra, detail=clip(detail, 500), check=check)
    # No automatic retry of a run the operator asked to stop (task or sticky flow cancel).
    if (dst in RETRYABLE_TASK and task.attempt <= task.retries
            and not led._flow_cancel_requested(task.flow_id) and task.cancel_requested_at is None):
        backoff = min(MAX_BACKOFF_S, task.retry_backoff_s * (2 ** (task.attempt - 1)))
        fresh = led._fetch(led.m.Task, task.task_id)
        new_attempt(led, fresh, "system", kind="auto_retry", not_before=now + int(backoff * 1000))
    elif dst != T.SUCCEEDED and cascade:
        cancel_dependents(led, task.flow_id, task.label, dst, actor)
    elif dst == T.SUCCEEDED and led.notify_channel and has_waiting(led, task.flow_id):
        led._notify(QUEUED)  # dependents may be claimable now: wake the supervisors
    if recompute:
        led._recompute_flow(task.flow_id, actor)


def new_attempt(led: LedgerBase, old: Any, actor: str, kind: str, not_before: int | None = None) -> TaskModel:
    Task = led.m.Task
    now = led.now()
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
    led._event(old.flow_id, kind, task_id=task_id, src=old.status, dst=status, actor=actor,
                detail=f"attempt {old.attempt + 1} of {old.label!r} (after {old.task_id[:8]})")
    return Task.get_by_id(task_id)


def has_waiting(led: LedgerBase, flow_id: str) -> bool:
    Task = led.m.Task
    return (Task.select(Task.task_id)
            .where((Task.flow == flow_id) & (Task.is_latest == True)  # noqa: E712
                   & (Task.status == T.QUEUED) & (Task.after_json != "[]"))
            .exists())


def cancel_dependents(led: LedgerBase, flow_id: str, label: str, outcome: str, actor: str) -> None:
    """Work that waits on a task that will not succeed can never run: say so."""
    latest = led.latest_attempts(flow_id)
    dead = {label}
    changed = True
    while changed:
        changed = False
        for task in latest:
            if task.label in dead or task.status not in (T.QUEUED, T.AWAITING_APPROVAL):
                continue
            blockers = dead & set(led.after_of(task))
            if blockers:
                why = f"dependency {sorted(blockers)[0]!r} ended {outcome}"
                settle(led, task, T.CANCELLED, actor, kind="cancelled", error=why,
                       cascade=False, recompute=False)
                task.status = T.CANCELLED
                dead.add(task.label)
                changed = True
