"""One row of the main list as Rich Text: columns that fit the width, status in colour.

Pure (given a time and the status colours) so that it is tested and snapshotted as is.
Every string from the ledger goes through `clean()` and into `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from ...ledger.outcome_text import outcome_text
from ...safetext import visible
from ..theme.palette import glyph, status_color, status_label
from ..view.keys import key_of
from ..view.model import FlowView, Row, TaskView
from ..view.text import age, approval_left, clean, duration, progress_bar


@dataclass(frozen=True)
class Columns:
    name: int
    runtime: int
    status: int
    attempt: int
    time: int
    bar: int
    detail: int


def columns(width: int) -> Columns:
    runtime = 8 if width >= 100 else 0
    status = 17 if width >= 120 else 10
    bar = 16 if width >= 110 else 0
    name = max(26, min(60, int(width * 0.3)))
    fixed = name + status + 3 + 7 + 4 + (runtime + 1 if runtime else 0) + (bar + 1 if bar else 0)
    return Columns(name, runtime, status, 3, 7, bar, max(0, width - fixed - 1))


def header_text(width: int, dim: Style) -> Text:
    c = columns(width)
    parts = [("  " + "FLOW / TASK").ljust(c.name)]
    if c.runtime:
        parts.append("RUNTIME".ljust(c.runtime))
    parts += ["STATUS".ljust(c.status), "TRY", "ELAPSED".rjust(c.time)]
    if c.bar:
        parts.append("PROGRESS".ljust(c.bar))
    parts.append("DETAIL")
    return Text(" ".join(parts)[:width], style=dim, no_wrap=True, end="")


def task_time(task: TaskView, now: int) -> str:
    if task.status == "running" and task.started_at:
        return duration(now - task.started_at)
    if task.ended_at is not None:
        return duration(task.ended_at - task.started_at) if task.started_at else "-"
    return age(now - task.created_at)


def flow_time(flow: FlowView, now: int) -> str:
    if flow.ended_at is not None:
        return duration(flow.ended_at - flow.created_at)
    return age(now - flow.created_at)


def task_detail(task: TaskView, now: int, with_pct: bool) -> str:
    if task.cancel_requested_at and task.status == "running":
        return "cancel requested, stopping"
    if task.status == "running":
        pct = f"{task.progress:.0f}% " if with_pct and task.progress is not None else ""
        return pct + clean(task.progress_summary or "")
    if task.status == "awaiting_approval":
        left = approval_left(task.created_at, task.approval_timeout_s, now)
        keys = f"{key_of('approve')} approve · {key_of('deny')} deny"
        return f"{left} · {keys}" if left else f"needs approval: {keys}"
    if task.status == "queued":
        if task.not_before and task.not_before > now:
            return f"retry {task.attempt} in {duration(task.not_before - now)}"
        if task.after:
            return "after " + ", ".join(clean(a, 40) for a in task.after)
        return "ready to run"
    if task.status == "succeeded":
        return clean(task.terminal_summary or task.progress_summary or "")
    return clean(outcome_text(task.exit_code, task.error or task.terminal_summary))


def flow_detail(flow: FlowView) -> str:
    total = flow.total
    done = flow.count("succeeded")
    bits = [f"{done}/{total} done"]
    for status, label in (("running", "running"), ("queued", "queued"), ("awaiting_approval", "awaiting"),
                          ("failed", "failed"), ("timed_out", "timed out"), ("blocked", "blocked"),
                          ("lost", "lost"), ("cancelled", "cancelled")):
        n = flow.count(status)
        if n:
            bits.append(f"{n} {label}")
    if flow.cancel_requested_at is not None and flow.status not in ("cancelled",):
        bits.insert(0, "cancel requested")
    return " · ".join(bits)


def _cell(text: str, width: int, style: Style | str = "", right: bool = False) -> Text:
    """One column, padded or cut to `width`; `visible()` once more, so that no column (status
    names of a foreign ledger included) can carry a control character to the terminal."""
    t = Text(visible(text), style=style, no_wrap=True, end="")
    t.truncate(width, overflow="ellipsis")
    pad = width - t.cell_len
    if pad > 0:
        if right:
            t = Text(" " * pad, end="") + t
        else:
            t.append(" " * pad)
    return t


def render_row(row: Row, width: int, now: int, colors: Mapping[str, str], dim: Style) -> Text:
    c = columns(width)
    if row.kind == "more":
        return _cell(f"  … {row.more} older finished flows: press Enter or m to show more", width, dim)
    if row.kind == "flow":
        assert row.flow is not None
        flow = row.flow
        status, name_txt = flow.status, clean(flow.goal, 300)
        if flow.source:
            name_txt = f"[{clean(flow.source, 40)}] {name_txt}"
        if flow.label:
            name_txt += f" ({clean(flow.label, 60)})"
        lead = ("▾ " if row.expanded else "▸ ")
        runtime, attempt, when = f"{flow.total} task" + ("s" if flow.total != 1 else ""), "", flow_time(flow, now)
        detail, progress = flow_detail(flow), None
    else:
        assert row.task is not None
        task = row.task
        status, name_txt = task.status, clean(task.label, 200)
        lead = "  └ " if row.last_child else "  ├ "
        runtime, attempt, when = clean(task.runtime, 32), f"#{task.attempt}", task_time(task, now)
        progress = task.progress if task.status == "running" else None
        detail = task_detail(task, now, with_pct=not c.bar)
    color = Style(color=status_color(colors, status))
    name = Text(no_wrap=True, end="")
    name.append(lead, style=dim)  # the tree lines are furniture; the name is what matters
    name.append(glyph(status) + " ", style=color + Style(bold=True))
    name.append(name_txt, style=Style(bold=row.kind == "flow"))
    name.truncate(c.name, overflow="ellipsis", pad=True)
    out = Text(no_wrap=True, end="")
    out.append_text(name)
    out.append(" ")
    if c.runtime:
        out.append_text(_cell(runtime, c.runtime, dim))
        out.append(" ")
    out.append_text(_cell(status_label(status, c.status), c.status, color))
    out.append(" ")
    out.append_text(_cell(attempt, c.attempt, dim))
    out.append(" ")
    out.append_text(_cell(when, c.time, right=True))
    out.append(" ")
    if c.bar:
        out.append_text(_cell(progress_bar(progress, c.bar) if progress is not None else "", c.bar, color))
        out.append(" ")
    out.append_text(_cell(detail, c.detail, dim if row.kind == "flow" else ""))
    out.truncate(width, pad=True)
    return out
