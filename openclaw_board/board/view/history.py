"""One flow's history, event by event: pure functions behind the replay screen.

The flow's rows and events are read once (on the service thread); every step is then
`ledger.replay.rebuild` over the first i+1 events, in memory, so stepping back and forth
costs no database read. A task row appears from its first event on (a retry attempt
is created at the same millisecond as the failure that caused it; it should not show
before the `auto_retry` event that announces it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.style import Style
from rich.text import Text

from ...ledger.clock import iso
from ...ledger.replay import rebuild
from .model import FlowView, Row, TaskView, ViewSpec
from .rows import build_rows
from .text import clean, duration


@dataclass(frozen=True)
class Replayed:
    """The service thread's answer: one flow's rows and events (or why there are none)."""

    flow_id: str
    flow: Any = None
    tasks: list[Any] = field(default_factory=list)  # every attempt
    events: list[Any] = field(default_factory=list)  # oldest first
    error: str | None = None


def index_at(events: list[Any], at: int | None) -> int:
    """The last event at or before `at` (the newest when `at` is None); 0 if none is."""
    if at is None:
        return max(0, len(events) - 1)
    before = [i for i, ev in enumerate(events) if ev.at <= at]
    return before[-1] if before else 0


def rows_after(history: Replayed, i: int) -> tuple[Row, ...]:
    """The flow row and its tasks' rows (latest attempts) as they were after event i."""
    prefix = history.events[: i + 1]
    if not prefix:
        return ()
    at = prefix[-1].at
    seen = {ev.task_id for ev in prefix if ev.task_id}
    dated = {ev.task_id for ev in history.events if ev.task_id}
    tasks = [t for t in history.tasks if t.task_id in seen or t.task_id not in dated]
    snap = rebuild([history.flow], tasks, prefix, at)
    if not snap.flows:
        return ()
    flow = snap.flows[0]
    latest = snap.latest_tasks(flow.flow_id)
    view = FlowView.of(flow, dict(Counter(t.status for t in latest)))
    spec = ViewSpec(expanded=frozenset({flow.flow_id}))
    return build_rows({flow.flow_id: view}, {flow.flow_id: tuple(TaskView.of(t) for t in latest)}, spec, 0)


def task_names(history: Replayed) -> dict[str, str]:
    """task_id -> "label #attempt", for the event lines."""
    return {t.task_id: f"{t.label} #{t.attempt}" for t in history.tasks}


def event_line(ev: Any, start: int, names: dict[str, str], width: int, style: Style | None = None) -> Text:
    """`07:41:05.250  +5.2s  finished  fetch #1  running → failed  exit 1: …  (supervisor:…)`."""
    when = (iso(ev.at) or "")[11:23]
    line = Text(no_wrap=True, end="", style=style or "")
    line.append(f"{when}  ")
    line.append(f"+{duration(ev.at - start):<7} ", style=Style(dim=True))
    line.append(f"{clean(ev.kind, 24):<16}", style=Style(bold=True))
    who = names.get(ev.task_id, clean(ev.task_id or "", 8)) if ev.task_id else "flow"
    line.append(f"{clean(who, 30):<18} ")
    if ev.from_status or ev.to_status:
        line.append(f"{ev.from_status or '·'} → {ev.to_status or '·'}  ")
    if ev.detail:
        line.append(clean(ev.detail, 300))
    if ev.actor:
        line.append(f"  ({clean(ev.actor, 60)})", style=Style(dim=True))
    line.truncate(max(10, width), overflow="ellipsis")
    return line


def window(count: int, current: int, height: int) -> range:
    """Which event lines to show: `height` of them with the current one in view."""
    height = max(1, height)
    first = min(max(0, current - height // 2), max(0, count - height))
    return range(first, min(count, first + height))
