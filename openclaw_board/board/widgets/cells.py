"""One row of the main list as Rich Text: columns that fit the width, status in colour.

Pure (given a time and the status colours) so that it is tested and snapshotted as is.
Every string from the ledger goes through `clean()` and into `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text

from ...ledger.outcome_text import outcome_text
from ...safetext import visible
from ..theme.palette import glyph, status_color
from ..view.columns import columns, status_label
from ..view.keys import key_of
from ..view.model import FlowView, Row, TaskView
from ..view.progress import task_eta
from ..view.text import age, approval_left, clean, duration, progress_bar

MARK = "●"


def header_text(width: int, dim: Style, flat: bool = False, marked: int = 0) -> Text:
    """The column titles over the list, and how many rows are marked (at its right end)."""
    c = columns(width, flat)
    parts = [" " * c.mark + (" TASK" if flat else "  FLOW / TASK").ljust(c.name)]
    if c.flow:
        parts.append("FLOW".ljust(c.flow))
    if c.runtime:
        parts.append("RUNTIME".ljust(c.runtime))
    parts.append("STATUS".ljust(c.status))
    if c.attempt:
        parts.append("TRY")
    parts += ["ELAPSED".rjust(c.time), "PROGRESS".ljust(c.bar), "DETAIL"]
    text = Text(" ".join(parts), style=dim, no_wrap=True, end="")
    if marked:
        note = f"{MARK} {marked} marked ({key_of('clear_marks')} clears)"
        text.truncate(max(0, width - len(note) - 1))
        text.append(" " * max(1, width - text.cell_len - len(note)))
        text.append(note, style=Style(bold=True))
    text.truncate(width)
    return text


def task_time(task: TaskView, now: int) -> str:
    """Coarse while it runs (seconds in the first minute, then minutes): a live row's text, and
    so the terminal, changes once a minute, not every second."""
    if task.status == "running" and task.started_at:
        return age(now - task.started_at)
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
        eta = task_eta(task, now)
        summary = clean(task.progress_summary or "")
        return pct + " · ".join(bit for bit in (eta, summary) if bit)
    if task.status == "awaiting_approval":
        left = approval_left(task.created_at, task.approval_timeout_s, now)
        keys = f"{key_of('approve')} approve · {key_of('deny')} deny"
        return f"{left} · {keys}" if left else f"needs approval: {keys}"
    if task.status == "queued":
        if task.not_before and task.not_before > now:
            return f"retry {task.attempt} in {age(task.not_before - now)}"
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


def clock_text(row: Row, now: int) -> tuple[str, str] | None:
    """What of `row` depends on the time `now`: its elapsed time and its detail (an ETA, a retry's
    countdown). None for settled rows. The list redraws a row only when this changes."""
    if row.kind == "task" and row.task is not None:
        task = row.task
        if task.ended_at is not None:
            return None
        return task_time(task, now), task_detail(task, now, with_pct=False)
    if row.kind == "flow" and row.flow is not None and row.flow.ended_at is None:
        return flow_time(row.flow, now), ""
    return None


def flow_name(flow: FlowView) -> str:
    name = clean(flow.goal, 300)
    if flow.source:
        name = f"[{clean(flow.source, 40)}] {name}"
    if flow.label:
        name += f" ({clean(flow.label, 60)})"
    return name


def render_row(row: Row, width: int, now: int, colors: Mapping[str, str], dim: Style,
               marked: bool = False) -> Text:
    c = columns(width, row.flat)
    if row.kind == "more":
        return _cell(f"  … {row.more} older finished flows: press Enter or m to show more", width, dim)
    if row.kind == "flow":
        assert row.flow is not None
        flow = row.flow
        status, name_txt = flow.status, flow_name(flow)
        lead = ("▾ " if row.expanded else "▸ ")
        runtime, attempt, when = f"{flow.total} task" + ("s" if flow.total != 1 else ""), "", flow_time(flow, now)
        detail, progress = flow_detail(flow), row.progress
    else:
        assert row.task is not None
        task = row.task
        status, name_txt = task.status, clean(task.label, 200)
        lead = " " if row.flat else "  └ " if row.last_child else "  ├ "
        runtime, attempt, when = clean(task.runtime, 32), f"#{task.attempt}", task_time(task, now)
        progress = task.progress if task.status == "running" else None
        detail = task_detail(task, now, with_pct=False)
    color = Style(color=status_color(colors, status))
    out = Text(no_wrap=True, end="")
    out.append(MARK if marked else " ", style=Style(bold=True))
    name = Text(no_wrap=True, end="")
    name.append(lead, style=dim)  # the tree lines are furniture; the name is what matters
    name.append(glyph(status) + " ", style=color + Style(bold=True))
    name.append(name_txt, style=Style(bold=row.kind == "flow"))
    name.truncate(c.name, overflow="ellipsis", pad=True)
    cells = [name]
    if c.flow:
        assert row.flow is not None
        cells.append(_cell(flow_name(row.flow), c.flow, dim))
    if c.runtime:
        cells.append(_cell(runtime, c.runtime, dim))
    cells.append(_cell(status_label(status, c.status), c.status, color))
    if c.attempt:
        cells.append(_cell(attempt, c.attempt, dim))
    cells.append(_cell(when, c.time, right=True))
    cells.append(_cell(progress_bar(progress, c.bar) if progress is not None else "", c.bar, color))
    cells.append(_cell(detail, c.detail, dim if row.kind == "flow" else ""))
    out.append_text(Text(" ", end="").join(cells))
    out.truncate(width, pad=True)
    return out
