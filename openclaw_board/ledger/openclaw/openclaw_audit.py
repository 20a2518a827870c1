"""`openclaw tasks audit`'s findings, computed from the records as OpenClaw computes them.

Codes, severities and thresholds are OpenClaw's (see `rules.py`), checked against the real
`openclaw` CLI by bench/openclaw_parity.py. Tasks: a lost record has its own `lost`
finding and is not also `missing_cleanup`; a ledger with no cleanup_after column reads as unstamped
(openclaw's migration of such a file leaves it empty); timestamps are judged as OpenClaw reads them
(normalized, so "ended before it started" does not occur). TaskFlows (flow_runs rows only,
not the one-task flows we show for standalone tasks): stale running/waiting/blocked, a
cancel stuck with no live task, a managed flow with neither tasks nor wait state, a
blocked flow pointing at a missing task, inconsistent timestamps. Every record is audited,
every attempt included, like OpenClaw (it has no attempts).

Order, as OpenClaw sorts: errors first, then the oldest (a finding without an age, such as
inconsistent_timestamps, last), then the earliest created; ties keep task findings before
flow findings, each in the order of its checks.
"""

from __future__ import annotations

from ..audit import Finding
from ..durations import format_duration
from .openclaw_tables import FlowRow, TaskRow
from .rules import (
    FLOW_CANCEL_STUCK_MS,
    STALE_FLOW_BLOCKED_MS,
    STALE_FLOW_RUNNING_MS,
    STALE_FLOW_WAITING_MS,
    STALE_QUEUED_MS,
    STALE_RUNNING_MS,
    TERMINAL_TASK,
    cancel_pending,
    reference_at,
    retained_lost,
)

# (finding, age in ms or None, created_at of its record)
Keyed = tuple[Finding, int | None, int]


def _age(ms: int) -> str:
    return format_duration(ms / 1000)


def timestamp_problem(task: TaskRow) -> str | None:
    """OpenClaw's inconsistent_timestamps, on a record whose times are already normalized."""
    if task.started_at and task.started_at < task.created_at:
        return "startedAt is earlier than createdAt"  # cannot happen after normalization
    if task.ended_at and task.started_at and task.ended_at < task.started_at:
        return "endedAt is earlier than startedAt"  # nor this
    if task.raw_status in ("queued", "running") and task.ended_at:
        return f"{task.raw_status} task should not already have endedAt"
    return None


def task_findings(task: TaskRow, now: int) -> list[Keyed]:
    out: list[Keyed] = []
    ref = f"task {task.task_id[:8]} ({task.label})"
    age = max(0, now - reference_at(task))

    def add(code: str, severity: str, message: str, aged: bool = True) -> None:
        out.append((Finding(code, severity, task.flow_id, task.task_id, f"{ref}: {message}"),
                    age if aged else None, task.created_at))

    if task.raw_status == "queued" and age >= STALE_QUEUED_MS:
        add("stale_queued", "warn", f"queued task has not advanced for {_age(age)}")
    if task.raw_status == "running" and age >= STALE_RUNNING_MS:
        add("stale_running", "error", f"running task appears stuck: no event for {_age(age)}")
    if task.raw_status == "lost":
        retained = retained_lost(task, now)
        why = (task.error or "").strip() or "task lost its backing session"
        add("lost", "warn" if retained else "error",
            f"{why}; retained until cleanup" if retained else why)
    if task.delivery_status == "failed" and task.notify_policy != "silent":
        add("delivery_failed", "warn", f"terminal update delivery failed (notify {task.notify_policy})")
    if task.raw_status in TERMINAL_TASK and task.raw_status != "lost" and task.cleanup_after is None:
        add("missing_cleanup", "warn", "terminal task is missing cleanupAfter")
    problem = timestamp_problem(task)
    if problem:
        add("inconsistent_timestamps", "warn", problem, aged=False)
    return out


def _waits(flow: FlowRow) -> bool:
    """Has the flow something that explains why it has no task (a blocker or a wait state)?"""
    wait = (flow.wait_json or "").strip()
    return bool((flow.blocked_task_id or "").strip() or (flow.blocked_summary or "").strip()
                or (wait and wait != "null"))


def flow_timestamp_problem(flow: FlowRow) -> str | None:
    if flow.updated_at < flow.created_at:
        return "updatedAt is earlier than createdAt"
    if flow.ended_at and flow.ended_at < flow.created_at:
        return "endedAt is earlier than createdAt"
    if flow.ended_at and flow.ended_at < flow.updated_at:
        return "endedAt is earlier than updatedAt"
    return None


def flow_findings(flow: FlowRow, linked: list[TaskRow], now: int) -> list[Keyed]:
    out: list[Keyed] = []
    ref = f"flow {flow.flow_id[:8]} ({' '.join(flow.goal.split())[:60] or '-'})"
    age = max(0, now - flow.updated_at)
    live = any(cancel_pending(t) for t in linked)

    def add(code: str, severity: str, message: str, aged: int | None) -> None:
        out.append((Finding(code, severity, flow.flow_id, None, f"{ref}: {message}"), aged, flow.created_at))

    stale = {"running": STALE_FLOW_RUNNING_MS, "waiting": STALE_FLOW_WAITING_MS, "blocked": STALE_FLOW_BLOCKED_MS}
    if flow.status == "running" and age >= STALE_FLOW_RUNNING_MS:
        add("stale_running", "error", f"running TaskFlow has not advanced for {_age(age)}", age)
    if flow.status == "waiting" and age >= STALE_FLOW_WAITING_MS:
        add("stale_waiting", "warn", f"waiting TaskFlow has not advanced for {_age(age)}", age)
    if flow.status == "blocked" and flow.ended_at is None and age >= STALE_FLOW_BLOCKED_MS:
        add("stale_blocked", "warn", f"blocked TaskFlow has not advanced for {_age(age)}", age)
    if (flow.cancel_requested_at is not None and flow.status not in ("cancelled", "failed", "succeeded", "lost")
            and not live and now - flow.cancel_requested_at >= FLOW_CANCEL_STUCK_MS):
        waited = max(0, now - flow.cancel_requested_at)
        add("cancel_stuck", "warn", f"cancel requested {_age(waited)} ago; no live task, still {flow.status}",
            waited)
    if (flow.sync_mode == "managed" and flow.status in stale and age >= stale[flow.status]
            and not linked and not _waits(flow)):
        add("missing_linked_tasks", "error" if flow.status == "running" else "warn",
            "managed TaskFlow has no linked tasks or wait state", age)
    blocker = (flow.blocked_task_id or "").strip()
    if flow.ended_at is None and blocker and all(t.task_id != blocker for t in linked):
        add("blocked_task_missing", "warn", f"blocked TaskFlow points at missing task {blocker}", age)
    problem = flow_timestamp_problem(flow)
    if problem:
        add("inconsistent_timestamps", "warn", problem, None)
    return out


def audit_records(tasks: list[TaskRow], flows: list[FlowRow], now: int) -> list[Finding]:
    """Task findings, then TaskFlow findings, sorted as OpenClaw sorts them (a stable sort)."""
    linked: dict[str, list[TaskRow]] = {}
    for task in tasks:
        if task.parent_flow_id and task.parent_flow_id.strip():
            linked.setdefault(task.parent_flow_id.strip(), []).append(task)
    keyed = [k for task in tasks for k in task_findings(task, now)]
    keyed += [k for flow in flows for k in flow_findings(flow, linked.get(flow.flow_id.strip(), []), now)]
    keyed.sort(key=lambda k: (k[0].severity != "error", -(k[1] if k[1] is not None else -1), k[2]))
    return [f for f, _, _ in keyed]
