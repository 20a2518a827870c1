"""The schedules screen as data: one frozen row per schedule, and the texts its cells show.

Made on the service thread (service/schedule_reads.py) from the ledger's rows, drawn on the
UI thread; plain data, so that a fixed clock gives a fixed picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...ledger.clock import iso
from .text import age, clean

DAY_MS = 86_400_000


@dataclass(frozen=True)
class ScheduleView:
    schedule_id: str
    name: str  # its label, else its goal
    cron: str
    timezone: str
    reading: str  # the expression in words ("At 02:00"), "" when cron-descriptor has none
    paused: bool
    next_fire_at: int | None
    last_fire_at: int | None
    last_outcome: str | None  # the status of its last flow
    pending_fire_at: int | None

    @classmethod
    def of(cls, row: Any, reading: str, last_outcome: str | None) -> ScheduleView:
        return cls(row.schedule_id, row.label or row.goal, row.cron, row.timezone, reading, bool(row.paused),
                   row.next_fire_at, row.last_fire_at, last_outcome, row.pending_fire_at)


@dataclass(frozen=True)
class Schedules:
    rows: tuple[ScheduleView, ...] = ()
    error: str | None = None  # why they could not be read


def when(at: int | None, now: int) -> str:
    """"in 10m (06:15 UTC)", "in 1d3h (12-04 09:00 UTC)"; a past moment as "2m ago"."""
    if at is None:
        return "-"
    if at < now:
        return f"{age(now - at)} ago"
    stamp = (iso(at) or "")[5:16].replace("T", " ")
    return f"in {age(at - now)} ({stamp[6:] if at - now < DAY_MS else stamp} UTC)"


def next_text(s: ScheduleView, now: int) -> str:
    if s.paused:
        return "paused"
    text = when(s.next_fire_at, now)
    return text + (" · one queued" if s.pending_fire_at is not None else "")


def last_text(s: ScheduleView, now: int) -> str:
    if s.last_fire_at is None:
        return "never fired"
    return f"{s.last_outcome or 'flow pruned'}, {when(s.last_fire_at, now)}"


def name_text(s: ScheduleView) -> str:
    return clean(s.name, 80)


def cron_text(s: ScheduleView) -> str:
    """The expression and its time zone: "0 2 * * * UTC"."""
    return f"{clean(s.cron, 60)} {clean(s.timezone, 40)}"


def reading_text(s: ScheduleView) -> str:
    """What the expression means, in words (cron-descriptor's): "At 02:00 AM"."""
    return clean(s.reading, 80)
