"""`openclaw tasks audit`'s findings, computed from the records as OpenClaw computes them.

Codes, severities and thresholds are LEDGER.md's (see `rules.py`). Where LEDGER.md is
terse, OpenClaw's own audit decides: a lost record has its own `lost` finding and is not
also reported as `missing_cleanup`; "ended before started" needs both times; a start
before creation is not reported (OpenClaw takes created_at as no later than started_at).
Every record is audited, every attempt included, like OpenClaw (it has no attempts).
"""

from __future__ import annotations

from ..audit import Finding
from ..durations import format_duration
from .models import TaskRow
from .rules import (
    STALE_QUEUED_MS,
    STALE_RUNNING_MS,
    TERMINAL_TASK,
    reference_at,
    retained_lost,
)


def _age(ms: int) -> str:
    return format_duration(ms / 1000)


def timestamp_problem(task: TaskRow) -> str | None:
    """OpenClaw's inconsistent_timestamps, on a record whose created_at is already normalized."""
    if task.started_at is not None and task.started_at < task.created_at:
        return "startedAt is earlier than createdAt"  # cannot happen after normalization
    if task.ended_at is not None and task.started_at is not None and task.ended_at < task.started_at:
        return "endedAt is earlier than startedAt"
    if task.raw_status in ("queued", "running") and task.ended_at is not None:
        return f"{task.raw_status} task should not already have endedAt"
    return None


def task_findings(task: TaskRow, now: int, has_cleanup_column: bool) -> list[Finding]:
    out: list[Finding] = []
    ref = f"task {task.task_id[:8]} ({task.label})"
    age = max(0, now - reference_at(task))

    def add(code: str, severity: str, message: str) -> None:
        out.append(Finding(code, severity, task.flow_id, task.task_id, f"{ref}: {message}"))

    if task.raw_status == "queued" and age >= STALE_QUEUED_MS:
        add("stale_queued", "warn", f"queued task has not advanced for {_age(age)}")
    if task.raw_status == "running" and age >= STALE_RUNNING_MS:
        add("stale_running", "error", f"running task appears stuck: no event for {_age(age)}")
    if task.raw_status == "lost":
        retained = retained_lost(task, now, has_cleanup_column)
        why = task.error or "task lost its backing session"
        add("lost", "warn" if retained else "error",
            f"{why}; retained until cleanup" if retained else why)
    if task.delivery_status == "failed" and task.notify_policy != "silent":
        add("delivery_failed", "warn", f"terminal update delivery failed (notify {task.notify_policy})")
    if (has_cleanup_column and task.raw_status in TERMINAL_TASK and task.raw_status != "lost"
            and task.cleanup_after is None):
        add("missing_cleanup", "warn", "terminal task is missing cleanupAfter")
    problem = timestamp_problem(task)
    if problem:
        add("inconsistent_timestamps", "warn", problem)
    return out


def audit_tasks(tasks: list[TaskRow], now: int, has_cleanup_column: bool) -> list[Finding]:
    """Errors first, then the oldest, as OpenClaw sorts them."""
    keyed = []
    for task in tasks:
        age = max(0, now - reference_at(task))
        for f in task_findings(task, now, has_cleanup_column):
            keyed.append(((f.severity != "error", -age, task.created_at, f.code, task.task_id), f))
    return [f for _, f in sorted(keyed, key=lambda kf: kf[0])]
