"""The inspector's text, for people: labelled fields, the event timeline, the attempts.

Shared by the inspector screen and the split view's details pane, so that both say the
same thing the same way. Everything from the ledger goes through `clean()` into `Text`
(never markup); the command is quoted as the CLI quotes it (`ledger.command_text`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.style import Style
from rich.table import Table
from rich.text import Text

from ...ledger.command_text import command_line
from ..theme.palette import glyph, status_color
from ..view.text import age, clean, duration, progress_bar, span

# (field, label) in the order shown; a field the record lacks is skipped.
FIELDS: tuple[tuple[str, str], ...] = (
    ("goal", "Goal"), ("label", "Label"), ("status", "Status"), ("attempt", "Attempt"), ("runtime", "Runtime"),
    ("command", "Command"), ("cwd", "Directory"), ("shell", "Shell"), ("after", "After"),
    ("timeout_s", "Timeout"), ("retries", "Retries"), ("requires_approval", "Needs approval"),
    ("exit_code", "Exit code"), ("error", "Error"), ("progress", "Progress"), ("progress_summary", "Doing"),
    ("terminal_summary", "Summary"), ("created_at", "Created"), ("started_at", "Started"), ("ended_at", "Ended"),
    ("ran", "Ran"), ("updated_at", "Updated"), ("cancel_requested_at", "Cancel asked"), ("notify", "Notify"),
    ("task_counts", "Tasks"), ("host", "Host"), ("pid", "PID"), ("supervisor_id", "Supervisor"),
    ("run_dir", "Run directory"), ("spec_source", "Spec"), ("blocked_task_id", "Blocked by"),
    ("parent_task_id", "Retry of"), ("task_id", "Task id"), ("flow_id", "Flow id"),
)
_TIMES = {"created_at", "started_at", "ended_at", "updated_at", "cancel_requested_at"}
LABEL_WIDTH = 16


def _ms(value: Any) -> int | None:
    """An ISO time from the serializers (or epoch ms) as epoch ms."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def clock_text(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%m-%d %H:%M:%S")


def _ran(f: dict[str, Any], now: int) -> str | None:
    start = _ms(f.get("started_at"))
    if start is None:
        return None
    end = _ms(f.get("ended_at"))
    return duration((end if end is not None else now) - start) + ("" if end is not None else " so far")


def field_value(key: str, value: Any, now: int) -> str:
    """One field as people read it: `20 %`, `15m`, `yes`, a quoted command, `11-18 10:02:05 (4m ago)`."""
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if key == "command":
        return command_line(value)
    if key == "progress":
        return f"{float(value):.0f} %"
    if key == "timeout_s":
        return span(float(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in _TIMES:
        ms = _ms(value)
        return str(value) if ms is None else f"{clock_text(ms)} ({age(now - ms)} ago)"
    if key == "task_counts":
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if key == "after":
        return ", ".join(value)
    return str(value)


def fields_text(f: dict[str, Any], now: int, order: tuple[tuple[str, str], ...] = FIELDS) -> Table:
    """Label and value side by side; a long value (a command, a path) wraps under its value."""
    values = dict(f)
    if "started_at" in values:
        values["ran"] = _ran(values, now)
    table = Table.grid(expand=True)
    table.add_column(width=LABEL_WIDTH, no_wrap=True, style="bold")
    table.add_column(ratio=1, overflow="fold")
    for key, label in order:
        if key in values:
            table.add_row(label, Text(clean(field_value(key, values[key], now), 4000)))
    return table


def events_text(events: list[dict[str, Any]], colors: dict[str, str]) -> Text:
    out = Text()
    for e in events:
        out.append(clock_text(e.get("at_ms")) + "  ", style="dim")
        out.append(f"{clean(e['kind'], 32):<17}")
        if e.get("to"):
            move = clean(f"{e['from'] or ''} → {e['to']}" if e.get("from") else f"→ {e['to']}", 60)
            out.append(f"{move:<26}", style=Style(color=status_color(colors, e["to"])))
        else:
            out.append(" " * 26)
        out.append(clean(e.get("actor"), 40), style="dim")
        if e.get("detail"):
            out.append("  " + clean(e["detail"], 300))
        out.append("\n")
    return out or Text("(no events)")


def attempt_cells(a: dict[str, Any], colors: dict[str, str]) -> list[Text | str]:
    """One attempt's cells: task, #, status, ran, exit, error, id."""
    ran = duration(a["ended_at"] - a["started_at"]) if a["started_at"] and a["ended_at"] else "-"
    return [
        Text(clean(a["label"], 60)), str(a["attempt"]),
        Text(f"{glyph(a['status'])} {clean(a['status'], 40)}", style=Style(color=status_color(colors, a["status"]))),
        ran, "-" if a["exit_code"] is None else str(a["exit_code"]),
        Text(clean(a["error"], 200)), a["task_id"][:8] + ("" if a["is_latest"] else " (old)"),
    ]


ATTEMPT_COLUMNS = ("task", "#", "status", "ran", "exit", "error", "id")


def attempts_table(attempts: list[dict[str, Any]], colors: dict[str, str]) -> Table:
    table = Table(box=None, pad_edge=False, expand=True)
    for col in ATTEMPT_COLUMNS:
        table.add_column(col, no_wrap=col != "error", overflow="ellipsis")
    for a in attempts:
        table.add_row(*attempt_cells(a, colors))
    return table


def title_text(kind: str, data: dict[str, Any], colors: dict[str, str]) -> Text:
    """`● running  task fetch-globex #1  in Research Q3`: what is inspected, in one line."""
    f = data["fields"]
    title = Text(no_wrap=True, overflow="ellipsis")
    title.append(f"{glyph(f['status'])} {clean(f['status'], 40)}  ",
                 style=Style(color=status_color(colors, f["status"]), bold=True))
    if kind == "task":
        title.append(f"task {clean(f['label'], 80)} #{f['attempt']}", style="bold")
        title.append(f"  in {clean(data.get('flow_goal'), 80)}", style="dim")
        if not data.get("is_latest", True):
            title.append("  (an earlier attempt)", style="italic")
    else:
        title.append(f"flow {clean(f['goal'], 120)}", style="bold")
    return title


def log_status_text(f: dict[str, Any], said: str) -> Text:
    """Over a log: the task's progress bar and what it is doing (what the hidden `::progress`
    and `::summary` lines said), then the log view's own state (`said`)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    if f.get("progress") is not None:
        line.append(progress_bar(f["progress"], 16) + " ", style="bold")
    doing = f.get("progress_summary") or f.get("terminal_summary")
    if doing:
        line.append(clean(doing, 200) + "  ")
    line.append(clean(said), style="dim")
    return line
