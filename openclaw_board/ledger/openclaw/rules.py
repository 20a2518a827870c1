"""What OpenClaw's own CLI derives from its ledger, in one place (see shared/openclaw/LEDGER.md).

Every threshold, retention window and status set that the pressure lines and the audit
use lives here, so that `openclaw-board` on an OpenClaw ledger prints the same counts and
findings as `openclaw tasks list`, `openclaw tasks flow list` and `openclaw tasks audit`.
"""

from __future__ import annotations

# -- audit thresholds (LEDGER.md, "What OpenClaw's own CLI derives": `openclaw tasks audit`) --
# Ages are measured from last_event_at, else started_at, else created_at.
STALE_QUEUED_MS = 10 * 60 * 1000  # stale_queued: queued 10 minutes or more -> warn
STALE_RUNNING_MS = 30 * 60 * 1000  # stale_running: running 30 minutes or more -> error

# -- retention (LEDGER.md: "terminal records are pruned 7 days after they end; lost ones after 1 day") --
# A lost record whose cleanup_after is still ahead (capped at this window after it ended)
# is "retained": its `lost` finding is a warn; an expired or unstamped one is an error.
TERMINAL_RETENTION_MS = 7 * 24 * 3600 * 1000
LOST_RETENTION_MS = 24 * 3600 * 1000

# -- statuses (LEDGER.md, task_runs.status and terminal_outcome) --
ACTIVE_TASK = frozenset({"queued", "running"})
TERMINAL_TASK = frozenset({"succeeded", "failed", "timed_out", "cancelled", "lost"})
# "Issues" in the task pressure line: tasks shown as failed, timed_out, lost or blocked
# (a succeeded run with terminal_outcome = blocked is shown as blocked); cancelled is not.
ISSUE_SHOWN = frozenset({"failed", "timed_out", "lost", "blocked"})

# -- TaskFlow pressure (LEDGER.md: `A active · B blocked · C cancel-requested · T total`) --
# OpenClaw counts queued and running flows as active (not waiting), every flow that has a
# cancel_requested_at as cancel-requested, and every flow_runs row in the total.
ACTIVE_FLOW = frozenset({"queued", "running"})


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


def reference_at(task: object) -> int:
    """The moment an age is measured from: last event, else start, else creation."""
    return (getattr(task, "last_event_at", None) or getattr(task, "started_at", None)
            or task.created_at)  # type: ignore[attr-defined]


def retained_lost(task: object, now: int, has_cleanup_column: bool) -> bool:
    """Is this lost record still inside its retention window (cleanup_after ahead of now)?

    OpenClaw caps a lost record's cleanup_after at (ended, else last event, else created)
    + 1 day; a record with no cleanup_after ("unstamped") is never retained. Older ledgers
    without the column fall back to the 1-day window from the end.
    """
    end = (getattr(task, "ended_at", None) or getattr(task, "last_event_at", None)
           or task.created_at)  # type: ignore[attr-defined]
    window_end = end + LOST_RETENTION_MS
    cleanup = getattr(task, "cleanup_after", None)
    if not has_cleanup_column:
        return window_end > now
    if cleanup is None:
        return False
    return min(cleanup, window_end) > now
