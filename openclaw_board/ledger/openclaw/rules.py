"""What OpenClaw's own CLI derives from its ledger, in one place (see shared/openclaw/LEDGER.md).

Every threshold, retention window and status set that the pressure lines and the audit
use lives here, so that `openclaw-board` on an OpenClaw ledger prints the same counts and
findings as `openclaw tasks list`, `openclaw tasks flow list` and `openclaw tasks audit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .openclaw_tables import TaskRow

# -- audit thresholds (LEDGER.md, "What OpenClaw's own CLI derives": `openclaw tasks audit`) --
# Ages are measured from last_event_at, else started_at, else created_at.
STALE_QUEUED_MS = 10 * 60 * 1000  # stale_queued: queued 10 minutes or more -> warn
STALE_RUNNING_MS = 30 * 60 * 1000  # stale_running: running 30 minutes or more -> error
# TaskFlow findings (openclaw tasks audit, task-flow-registry.audit), measured from updated_at,
# else created_at: running 30 min -> stale_running (error); waiting 30 min -> stale_waiting;
# blocked with no end 30 min -> stale_blocked; a cancel requested 5 min ago on a flow that is
# not terminal and has no live task -> cancel_stuck (warn).
STALE_FLOW_RUNNING_MS = 30 * 60 * 1000
STALE_FLOW_WAITING_MS = 30 * 60 * 1000
STALE_FLOW_BLOCKED_MS = 30 * 60 * 1000
FLOW_CANCEL_STUCK_MS = 5 * 60 * 1000

# -- retention (LEDGER.md: "terminal records are pruned 7 days after they end; lost ones after 1 day") --
# A lost record whose cleanup_after is still ahead (capped at this window after it ended)
# is "retained": its `lost` finding is a warn; an expired or unstamped one is an error.
LOST_RETENTION_MS = 24 * 3600 * 1000

# -- statuses (LEDGER.md, task_runs.status and terminal_outcome) --
ACTIVE_TASK = frozenset({"queued", "running"})
TERMINAL_TASK = frozenset({"succeeded", "failed", "timed_out", "cancelled", "lost"})
# "Issues" in the task pressure line: tasks shown as failed, timed_out, lost or blocked
# (a succeeded run with terminal_outcome = blocked is shown as blocked); cancelled is not.
ISSUE_SHOWN = frozenset({"failed", "timed_out", "lost", "blocked"})

# -- TaskFlow pressure (`A active[ · W waiting] · B blocked[ · I issues] · C cancel-requested · T total`) --
# OpenClaw counts queued and running flows as active, waiting ones apart, failed and lost
# ones as issues (those two only when non-zero), a flow as cancel-requested only while it
# is not terminal (a flow that already ended cancelled is not), and every
# flow_runs row it lists in the total.
ACTIVE_FLOW = frozenset({"queued", "running"})
ISSUE_FLOW = frozenset({"failed", "lost"})


def terminal_flow(status: str, ended_at: int | None) -> bool:
    """OpenClaw's isTerminalTaskFlow: a blocked flow is terminal only once it has an end."""
    return status in ("succeeded", "failed", "cancelled", "lost") or (status == "blocked" and ended_at is not None)


def cancel_pending(task: TaskRow) -> bool:
    """A linked task that keeps a flow's cancel from being stuck: still live, or a subagent kill
    that OpenClaw has recorded provisionally as cancelled."""
    return task.raw_status in ACTIVE_TASK or (task.runtime == "subagent" and task.raw_status == "cancelled"
                                              and task.error == "Subagent run killed.")


def normalized_times(status: str, created: int, started: int | None, ended: int | None,
                     last_event: int | None) -> tuple[int, int | None, int | None, int | None]:
    """(created, started, ended, last_event) as OpenClaw reads a record (normalizeTaskTimestamps).

    Creation is no later than any other time; the start no earlier than creation; a terminal
    record ends (at its last event, else its creation, when it has no end) no earlier than
    it started; the last event is no earlier than the end (else the start). So "ended
    before it started" never reaches OpenClaw's audit, and neither do we report it.
    """
    first = min([created, *(t for t in (started, last_event, ended) if t is not None)])
    start = max(started, first) if started is not None else None
    if status in TERMINAL_TASK:
        terminal_at: int | None = ended if ended is not None else (last_event if last_event is not None else created)
    else:
        terminal_at = ended
    end = max(terminal_at, start if start is not None else first) if terminal_at is not None else None
    floor = end if end is not None else (start if start is not None else first)
    last = max(last_event, floor) if last_event is not None else None
    return first, start, end, last


def matches_status(task: TaskRow, wanted: str) -> bool:
    """OpenClaw's `--status` filter: the stored status, or `blocked` for a run shown as blocked
    (so `--status succeeded` also lists the runs that succeeded with outcome blocked)."""
    return task.raw_status == wanted or task.status == wanted


def shown_status(status: str, terminal_outcome: str | None) -> str:
    """The status a person sees: a run that ended without finishing its work is `blocked`."""
    if status == "succeeded" and terminal_outcome == "blocked":
        return "blocked"
    return status


def mirrored_flow_status(status: str, terminal_outcome: str | None) -> str:
    """A one-task flow's status from its task, as OpenClaw's task_mirrored flows follow theirs."""
    if status in ("queued", "running", "cancelled", "lost"):
        return status
    if status == "succeeded":
        return "blocked" if terminal_outcome == "blocked" else "succeeded"
    return "failed"  # failed, timed_out


def reference_at(task: TaskRow) -> int:
    """The moment an age is measured from: last event, else start, else creation."""
    return task.last_event_at or task.started_at or task.created_at


def retained_lost(task: TaskRow, now: int) -> bool:
    """Is this lost record still inside its retention window (cleanup_after ahead of now)?

    OpenClaw caps a lost record's cleanup_after at (ended, else last event, else created)
    + 1 day; a record with no cleanup_after ("unstamped") is never retained. A ledger with no
    cleanup_after column at all reads as unstamped: openclaw migrates such a file (`doctor
    --fix`) with the column empty and then reports it so (bench/openclaw_parity.py).
    """
    end = task.ended_at or task.last_event_at or task.created_at
    if task.cleanup_after is None:
        return False
    return min(task.cleanup_after, end + LOST_RETENTION_MS) > now
