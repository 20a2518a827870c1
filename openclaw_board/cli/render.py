"""Human output of the CLI: pressure lines, Rich tables, detail views.

Every piece of text that came from a spec, a task or the ledger goes into a `Text` object
through `plain()`, never through markup parsing, so `[bold red]x[/]` in a label prints exactly
as written, and its control characters are made visible (`safetext.visible`): an escape
sequence in a goal prints as `␛]0;title␛\\` instead of retitling the terminal.
Ids are shown as 8-character prefixes (any unique prefix is accepted back), times as ages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..ledger.command_text import command_line
from ..ledger.durations import format_duration
from ..ledger.outcome_text import outcome_text
from ..safetext import visible

STATUS_STYLE: dict[str, str] = {
    "awaiting_approval": "magenta",
    "waiting": "magenta",
    "queued": "cyan",
    "running": "bold blue",
    "succeeded": "green",
    "blocked": "yellow",
    "failed": "bold red",
    "timed_out": "red",
    "cancelled": "dim",
    "lost": "bold red",
}

# The order a flow's task counts are listed in: live work first, then outcomes.
STATUS_ORDER = (
    "running", "awaiting_approval", "queued", "succeeded", "blocked", "failed", "timed_out",
    "lost", "cancelled",
)

NOTE_CHARS = 60  # a list shows this much of a task's note; `tasks show` has it whole


def short(ident: str | None) -> str:
    return (ident or "")[:8]


def count_of(n: int, word: str, plural: str | None = None) -> str:
    """`1 issue`, `2 issues`, `0 findings`: a number with its noun, singular only for one."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def status_text(status: str | None) -> Text:
    status = status or "-"
    return Text(visible(status), style=STATUS_STYLE.get(status, ""))


def plain(value: Any, style: str = "", *, multiline: bool = False) -> Text:
    """Literal text: markup and emoji codes in it are never interpreted, controls are shown
    (a line break only where `multiline`: an error or a summary, not a label)."""
    return Text(visible(value, multiline=multiline), style=style)


def when(ms: int | None) -> str:
    """Wall-clock time in UTC, to the second: `2026-11-24 22:41:05 UTC`."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(ms: int | None, now: int) -> str:
    if ms is None:
        return "-"
    delta = (now - ms) / 1000
    if delta < 0:
        return "in " + format_duration(-delta)
    return format_duration(delta) + " ago"


def when_and_age(ms: int | None, now: int) -> str:
    return "-" if ms is None else f"{when(ms)} ({age(ms, now)})"


def elapsed(task: Any, now: int) -> str:
    """How long the attempt ran (or has been running)."""
    if task.started_at is None:
        return "-"
    end = task.ended_at if task.ended_at is not None else now
    return format_duration((end - task.started_at) / 1000)


def task_pressure_line(p: dict[str, int]) -> Text:
    return Text(f"Task pressure: {p['queued']} queued · {p['running']} running · {count_of(p['issues'], 'issue')}",
                style="bold")


def flow_pressure_line(p: dict[str, int]) -> Text:
    """OpenClaw's ledger also counts waiting flows and issues (failed, lost): shown, like
    OpenClaw shows them, only when there are some."""
    waiting = f" · {p['waiting']} waiting" if p.get("waiting") else ""
    issues = f" · {count_of(p['issues'], 'issue')}" if p.get("issues") else ""
    return Text(
        f"Flow pressure: {p['active']} active{waiting} · {p['blocked']} blocked{issues} · "
        f"{p['cancel_requested']} cancel-requested · {p['total']} total",
        style="bold",
    )


def clip(text: str, limit: int = NOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def task_note(task: Any) -> Text:
    """The most useful short line about a task: its outcome (exit code and error, as the board
    says it), else summary, else progress."""
    if task.error:
        return plain(clip(outcome_text(task.exit_code, task.error)), "red" if task.status != "cancelled" else "dim")
    if task.terminal_summary:
        return plain(clip(task.terminal_summary))
    parts = []
    if task.progress is not None:
        parts.append(f"{task.progress:g}%")
    if task.progress_summary:
        parts.append(task.progress_summary)
    if task.cancel_requested_at is not None and task.status == "running":
        parts.append("cancel requested")
    return plain(clip(" ".join(parts)))


def _table(*columns: tuple[str, dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False, collapse_padding=True)
    for name, opts in columns:
        table.add_column(name, **opts)
    return table


_ID = {"no_wrap": True, "min_width": 8, "max_width": 8, "overflow": "crop"}
_STATUS = {"no_wrap": True, "overflow": "ellipsis", "min_width": 6}
_SMALL = {"no_wrap": True, "overflow": "ellipsis"}
_TEXT = {"overflow": "fold", "ratio": 1, "min_width": 8}


def tasks_table(tasks: Iterable[Any], now: int, *, show_flow: bool = True, width: int = 120) -> Table:
    """Narrow terminals lose the runtime and run time (<110 columns), then the flow (<90): see `tasks show`."""
    wide = width >= 110
    show_flow = show_flow and width >= 90
    columns: list[tuple[str, dict[str, Any]]] = [("Task", _ID)]
    if show_flow:
        columns.append(("Flow", _ID))
    columns += [("Label", {"overflow": "fold", "min_width": 10, "max_width": 28}), ("Status", _STATUS),
                ("Try", {"no_wrap": True, "justify": "right"})]
    if wide:
        columns += [("Runtime", {**_SMALL, "max_width": 10})]
    columns += [("Created", _SMALL)]
    if wide:
        columns += [("Ran", _SMALL)]
    columns += [("Note", _TEXT)]
    table = _table(*columns)
    for t in tasks:
        row: list[RenderableType] = [plain(short(t.task_id))]
        if show_flow:
            row.append(plain(short(t.flow_id)))
        row += [plain(t.label), status_text(t.status), plain(t.attempt)]
        if wide:
            row.append(plain(t.runtime))
        row.append(plain(age(t.created_at, now)))
        if wide:
            row.append(plain(elapsed(t, now)))
        row.append(task_note(t))
        table.add_row(*row)
    return table


def counts_text(counts: dict[str, int]) -> Text:
    text = Text()
    ordered = [s for s in STATUS_ORDER if counts.get(s)] + sorted(s for s in counts if s not in STATUS_ORDER)
    for i, status in enumerate(ordered):
        if i:
            text.append(" ")
        text.append(f"{counts[status]} {visible(status)}", style=STATUS_STYLE.get(status, ""))
    return text if ordered else Text("-")


def flows_table(flows: Iterable[Any], counts: dict[str, dict[str, int]], now: int, width: int = 120) -> Table:
    """Below ~100 columns the last-update age goes, so the goal keeps room."""
    wide = width >= 100
    columns: list[tuple[str, dict[str, Any]]] = [
        ("Flow", _ID), ("Status", _STATUS), ("Goal", {**_TEXT, "min_width": 12}),
        ("Tasks", {"overflow": "fold", "min_width": 9, "max_width": 28}), ("Created", _SMALL),
    ]
    if wide:
        columns.append(("Updated", _SMALL))
    table = _table(*columns)
    for f in flows:
        goal = plain(f.goal)
        if f.label:
            goal = Text.assemble(plain(f.label, "bold"), ": ", goal)
        status = status_text(f.status)
        if f.cancel_requested_at is not None and f.status != "cancelled":
            status.append(" (cancel)", style="dim")
        row = [plain(short(f.flow_id)), status, goal, counts_text(counts.get(f.flow_id, {})),
               plain(age(f.created_at, now))]
        if wide:
            row.append(plain(age(f.updated_at, now)))
        table.add_row(*row)
    return table


def _fields(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def flow_detail(flow: Any, counts: dict[str, int], tasks: list[Any], now: int, width: int = 120) -> RenderableType:
    status = status_text(flow.status)
    fields: list[tuple[str, RenderableType]] = [
        ("Flow", plain(flow.flow_id)), ("Goal", plain(flow.goal)), ("Label", plain(flow.label or "-")),
        ("Status", status), ("Notify", plain(flow.notify)), ("Tasks", counts_text(counts)),
        ("Created", plain(when_and_age(flow.created_at, now))),
        ("Updated", plain(when_and_age(flow.updated_at, now))),
        ("Ended", plain(when_and_age(flow.ended_at, now))),
    ]
    if flow.cancel_requested_at is not None:
        fields.append(("Cancel requested", plain(when_and_age(flow.cancel_requested_at, now))))
    if flow.spec_source:
        fields.append(("Spec", plain(flow.spec_source)))
    fields += _extra_fields(flow)
    title = Text(f"Attempts ({len(tasks)}, oldest first)", style="bold")
    return Group(_fields(fields), Text(""), title, tasks_table(tasks, now, show_flow=False, width=width))


def task_detail(task: Any, command: list[str] | str, after: list[str], events: list[Any],
                now: int, width: int = 120) -> RenderableType:
    fields: list[tuple[str, RenderableType]] = [
        ("Task", plain(task.task_id)), ("Flow", plain(task.flow_id)), ("Label", plain(task.label)),
        ("Status", status_text(task.status)), ("Attempt", plain(task.attempt)),
        ("Runtime", plain(task.runtime)), ("Command", plain(command_line(command))),
    ]
    if after:
        fields.append(("After", plain(", ".join(after))))
    if task.parent_task_id:
        fields.append(("Previous attempt", plain(task.parent_task_id)))
    if task.exit_code is not None:
        fields.append(("Exit code", plain(task.exit_code)))
    for name, value in (("Error", task.error), ("Progress", _progress(task)),
                        ("Summary", task.terminal_summary)):
        if value:
            fields.append((name, plain(value, multiline=True)))
    fields += [("Created", plain(when_and_age(task.created_at, now))),
               ("Started", plain(when_and_age(task.started_at, now))),
               ("Ended", plain(when_and_age(task.ended_at, now))), ("Ran", plain(elapsed(task, now)))]
    if task.cancel_requested_at is not None:
        fields.append(("Cancel requested", plain(when_and_age(task.cancel_requested_at, now))))
    if task.host or task.pid:
        fields.append(("Owner", plain(f"{task.host or '?'} pid {task.pid or '-'} "
                                      f"supervisor {short(task.supervisor_id) or '-'}")))
    if task.run_dir:
        fields.append(("Run dir", plain(task.run_dir)))
    fields += _extra_fields(task)
    title = Text(f"Events ({len(events)})", style="bold")
    return Group(_fields(fields), Text(""), title, events_table(events, width))


def _extra_fields(row: Any) -> list[tuple[str, RenderableType]]:
    """An OpenClaw record's own columns (delivery, notify policy...), those that are set."""
    return [(name.replace("_", " ").capitalize(), plain(value)) for name, value in row.extra_fields().items()
            if value not in (None, "", False)]


def _progress(task: Any) -> str | None:
    if task.progress is None and not task.progress_summary:
        return None
    pct = f"{task.progress:g}% " if task.progress is not None else ""
    return pct + (task.progress_summary or "")


def events_table(events: Iterable[Any], width: int = 120) -> Table:
    """Below ~100 columns the actor goes, so the detail keeps room."""
    wide = width >= 100
    columns: list[tuple[str, dict[str, Any]]] = [("At (UTC)", _SMALL), ("Kind", _SMALL), ("Change", _SMALL)]
    if wide:
        columns.append(("By", {**_SMALL, "max_width": 20}))
    table = _table(*columns, ("Detail", _TEXT))
    for e in events:
        change = Text()
        if e.from_status or e.to_status:
            change = Text.assemble(status_text(e.from_status), " -> ", status_text(e.to_status))
        at = datetime.fromtimestamp(e.at / 1000, tz=UTC).strftime("%m-%d %H:%M:%S")
        detail = plain(e.detail or "", multiline=True)
        row = [plain(at), plain(e.kind), change] + ([plain(e.actor)] if wide else []) + [detail]
        table.add_row(*row)
    return table


def findings_view(findings: list[Any]) -> RenderableType:
    errors = sum(1 for f in findings if f.severity == "error")
    head = Text(f"Audit: {count_of(len(findings), 'finding')} ({count_of(errors, 'error')}, "
                f"{count_of(len(findings) - errors, 'warning')})", style="bold")
    if not findings:
        return Text("Audit: no findings", style="bold green")
    table = _table(("Severity", _SMALL), ("Code", _SMALL), ("Flow", _ID), ("Task", _ID), ("Message", _TEXT))
    for f in findings:
        table.add_row(plain(f.severity, "bold red" if f.severity == "error" else "yellow"), plain(f.code),
                      plain(short(f.flow_id) or "-"), plain(short(f.task_id) or "-"), plain(f.message))
    return Group(head, table)
