"""Task and flow statuses, the legal transitions, and how a flow's status is derived.

Pure: no database, no clock. Everything that decides "may this change happen?" or "what
is this flow's status?" lives here so that the Ledger API, the audit and the tests agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class TaskStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    BLOCKED = "blocked"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    LOST = "lost"


class FlowStatus(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"
    RUNNING = "running"
    BLOCKED = "blocked"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"


T = TaskStatus
F = FlowStatus

TASK_STATUSES: tuple[str, ...] = tuple(s.value for s in TaskStatus)
FLOW_STATUSES: tuple[str, ...] = tuple(s.value for s in FlowStatus)

ACTIVE_TASK: frozenset[str] = frozenset({T.AWAITING_APPROVAL, T.QUEUED, T.RUNNING})
TERMINAL_TASK: frozenset[str] = frozenset(
    {T.SUCCEEDED, T.BLOCKED, T.FAILED, T.TIMED_OUT, T.CANCELLED, T.LOST}
)
# Automatic retries apply to these outcomes only (a block or a cancel is a decision).
RETRYABLE_TASK: frozenset[str] = frozenset({T.FAILED, T.TIMED_OUT, T.LOST})

ACTIVE_FLOW: frozenset[str] = frozenset({F.QUEUED, F.WAITING, F.RUNNING})
TERMINAL_FLOW: frozenset[str] = frozenset(
    {F.BLOCKED, F.SUCCEEDED, F.FAILED, F.CANCELLED, F.LOST}
)
# A flow an operator may reopen: it ended without succeeding.
REOPENABLE_FLOW: frozenset[str] = frozenset({F.BLOCKED, F.FAILED, F.CANCELLED, F.LOST})

# Every legal move of one task row. A terminal row never moves again: a retry is a new row.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    T.AWAITING_APPROVAL: frozenset({T.QUEUED, T.CANCELLED}),  # approve / deny or cancel
    T.QUEUED: frozenset({T.RUNNING, T.CANCELLED}),
    T.RUNNING: frozenset(
        {T.SUCCEEDED, T.BLOCKED, T.FAILED, T.TIMED_OUT, T.CANCELLED, T.LOST}
    ),
    **{s: frozenset() for s in TERMINAL_TASK},
}


def is_terminal(status: str) -> bool:
    return status in TERMINAL_TASK


def can_transition(src: str, dst: str) -> bool:
    return dst in TASK_TRANSITIONS.get(src, frozenset())


def outcome_for_exit(exit_code: int | None, signal: int | None, blocked_line: bool) -> str:
    """Map a finished process to a task status (DESIGN.md: Statuses)."""
    if signal is not None:
        return T.FAILED
    if blocked_line or exit_code == 75:
        return T.BLOCKED
    if exit_code == 0:
        return T.SUCCEEDED
    return T.FAILED


def derive_flow_status(latest: Iterable[str], cancel_requested: bool) -> str:
    """A flow's status from the statuses of the latest attempt of each of its tasks.

    Order of precedence: live work first (running, then waiting on approval, then
    queued); once everything has settled, a sticky cancel wins, then the worst outcome
    (lost, failed/timed_out, blocked), then a cancel of a single task, else success.
    """
    statuses = list(latest)
    present = set(statuses)
    if T.RUNNING in present:
        return F.RUNNING
    if T.AWAITING_APPROVAL in present and not cancel_requested:
        return F.WAITING
    if T.QUEUED in present and not cancel_requested:
        # Part done, part queued is still progress: show it as running.
        if present & TERMINAL_TASK:
            return F.RUNNING
        return F.QUEUED
    if present & ACTIVE_TASK:
        # A cancel was requested but some rows have not settled yet.
        return F.RUNNING if T.RUNNING in present else F.QUEUED
    if cancel_requested:
        return F.CANCELLED
    if not statuses:
        return F.SUCCEEDED
    if T.LOST in present:
        return F.LOST
    if present & {T.FAILED, T.TIMED_OUT}:
        return F.FAILED
    if T.BLOCKED in present:
        return F.BLOCKED
    if T.CANCELLED in present:
        return F.CANCELLED
    return F.SUCCEEDED
