"""Progress rules: a task's ETA from its progress rate, and a flow's aggregate progress.

Pure, so that they are tested without a ledger or Textual. Both are coarse on purpose: the
ETA reads "~3m left", not "3m12s", so that a live row's text (and so the terminal) changes
once a minute, not once a second.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import FlowView, TaskView
from .text import age

MIN_PCT = 1.0  # below this the rate says nothing yet
MIN_RUN_MS = 5_000  # nor after a few seconds of running


def eta_ms(progress: float | None, started_at: int | None, last_at: int | None, now: int) -> int | None:
    """How long until 100 %, at the rate seen between the start and the last progress report.

    The rate is measured up to the last report (`last_at`), not up to `now`: a task that went
    quiet is not assumed to slow down, its estimate just counts down from that report. None when
    there is no rate yet (no start, under 1 %, a few seconds in) or the task reports done.
    """
    if progress is None or started_at is None or progress < MIN_PCT or progress >= 100:
        return None
    upto = last_at if last_at is not None and started_at < last_at <= now else now
    spent = upto - started_at
    if spent < MIN_RUN_MS:
        return None
    remaining_at_report = spent * (100.0 - progress) / progress
    return max(0, int(remaining_at_report - (now - upto)))


def eta_text(ms: int | None) -> str:
    """`~3m left`, `~1h05m left`; under a minute `<1m left` (no per-second countdown)."""
    if ms is None:
        return ""
    if ms < 60_000:
        return "<1m left"
    return f"~{age(ms)} left"


def task_eta(task: TaskView, now: int) -> str:
    if task.status != "running" or task.cancel_requested_at:
        return ""
    at = now if task.started_at is None else elapsed_tick(task.started_at, now)
    return eta_text(eta_ms(task.progress, task.started_at, task.last_progress_at, at))


def elapsed_tick(started_at: int, now: int) -> int:
    """When a running row's elapsed time last changed: now in its first minute, then at whole
    minutes since its start. An estimate worked out at that moment changes with the elapsed
    time instead of at a moment of its own, so the row is redrawn once a minute, not twice."""
    run = now - started_at
    return now if run < 60_000 else started_at + run // 60_000 * 60_000


def flow_progress(flow: FlowView, tasks: Iterable[TaskView] | None) -> float | None:
    """A live flow's progress in percent: finished tasks count whole, running ones by their
    last report (when the flow's tasks were read). None for a settled or empty flow."""
    if flow.ended_at is not None:  # first: most flows on a board are settled, and this runs per row
        return None
    total = flow.total
    if total == 0:
        return None
    done = float(flow.finished)
    if tasks is not None:
        done += sum((t.progress or 0.0) / 100.0 for t in tasks if t.status == "running")
    return max(0.0, min(100.0, 100.0 * done / total))
