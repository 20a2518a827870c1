"""The inspector (Enter): every field, the event timeline, the attempts, and the log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from ..bindings import bindings
from ..theme.palette import glyph, status_color
from ..view.keys import Scope, key_of
from ..view.text import clean, duration
from ..widgets.logview import LogView

FIELD_ORDER = (
    "goal", "label", "status", "attempt", "runtime", "command", "cwd", "shell", "after", "timeout_s",
    "retries", "requires_approval", "exit_code", "error", "progress", "progress_summary",
    "terminal_summary", "created_at", "started_at", "ended_at", "updated_at", "cancel_requested_at",
    "notify", "task_counts", "host", "pid", "supervisor_id", "run_dir", "spec_source",
    "blocked_task_id", "parent_task_id", "task_id", "flow_id",
)


def _clock(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%m-%d %H:%M:%S")


class InspectorScreen(Screen[None]):
    BINDINGS = bindings(Scope.INSPECTOR)

    def __init__(self, kind: str, ref: str, *, tab: str = "details", live: bool = True) -> None:
        super().__init__()
        self.kind = kind
        self.ref = ref
        self.first_tab = tab
        self.live = live
        self.data: dict[str, Any] | None = None
        self._run_dir: str | None | bool = False

    @property
    def status(self) -> str | None:
        return self.data["fields"]["status"] if self.data else None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.kind} {self.ref[:8]}: loading…"), id="inspector-title")
        with TabbedContent(initial=self.first_tab if self.kind == "task" or self.first_tab != "log"
                           else "details", id="inspector-tabs"):
            with TabPane("Details", id="details"):
                yield VerticalScroll(Static(id="fields"))
            with TabPane("Events", id="events"):
                yield VerticalScroll(Static(id="timeline"))
            with TabPane("Attempts", id="attempts"):
                yield VerticalScroll(Static(id="attempt-list"))
            if self.kind == "task":
                with TabPane("Log", id="log"):
                    yield Static("", id="log-status")
                    yield LogView(live=self.live, id="logview")
                    yield Input(placeholder=f"search the log (Enter: find, {key_of('close', Scope.INSPECTOR)}: close)",
                                id="log-search")
        yield Footer()

    def on_mount(self) -> None:
        if self.kind == "task":
            self.query_one("#log-search", Input).display = False
            if self.first_tab == "log":
                self.query_one(LogView).focus()

    def show(self, data: dict[str, Any] | None, error: str | None) -> None:
        if data is None:
            self.query_one("#inspector-title", Static).update(
                Text(f"{self.kind} {self.ref[:8]}: {clean(error)}", style="bold red"))
            return
        self.data = data
        f = data["fields"]
        colors = self.app.theme_variables
        color = Style(color=status_color(colors, f["status"]), bold=True)
        title = Text(no_wrap=True)
        title.append(f"{glyph(f['status'])} {clean(f['status'], 40)}  ", style=color)
        if self.kind == "task":
            title.append(f"task {clean(f['label'], 80)} #{f['attempt']}", style="bold")
            title.append(f"  in {clean(data.get('flow_goal'), 80)}", style="dim")
            if not data.get("is_latest", True):
                title.append("  (an earlier attempt)", style="italic")
        else:
            title.append(f"flow {clean(f['goal'], 120)}", style="bold")
        self.query_one("#inspector-title", Static).update(title)
        self.query_one("#fields", Static).update(self._fields(f))
        self.query_one("#timeline", Static).update(self._events(data["events"]))
        self.query_one("#attempt-list", Static).update(self._attempts(data["attempts"]))
        if self.kind == "task" and data.get("run_dir") != self._run_dir:
            self._run_dir = data.get("run_dir")
            self.query_one(LogView).show_run(data.get("run_dir"), data.get("log_tail"), f.get("host"))
        self.app.refresh_bindings()

    def _fields(self, f: dict[str, Any]) -> Text:
        out = Text()
        for key in FIELD_ORDER:
            if key not in f:
                continue
            value = f[key]
            if value is None or value == "" or value == [] or value == {}:
                value = "-"
            elif key == "command":
                value = " ".join(value) if isinstance(value, list) else value
            elif key == "task_counts":
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            elif key == "after":
                value = ", ".join(value)
            out.append(f"{key:<20}", style="bold")
            out.append(clean(value, 4000) + "\n")
        return out

    def _events(self, events: list[dict[str, Any]]) -> Text:
        out = Text()
        colors = self.app.theme_variables
        for e in events:
            out.append(_clock(e.get("at_ms")) + "  ", style="dim")
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

    def _attempts(self, attempts: list[dict[str, Any]]) -> Table:
        colors = self.app.theme_variables
        table = Table(box=None, pad_edge=False, expand=True)
        for col in ("task", "#", "status", "ran", "exit", "error", "id"):
            table.add_column(col, no_wrap=col != "error", overflow="ellipsis")
        for a in attempts:
            ran = duration(a["ended_at"] - a["started_at"]) if a["started_at"] and a["ended_at"] else "-"
            table.add_row(
                Text(clean(a["label"], 60)), str(a["attempt"]),
                Text(f"{glyph(a['status'])} {clean(a['status'], 40)}",
                     style=Style(color=status_color(colors, a["status"]))),
                ran, "-" if a["exit_code"] is None else str(a["exit_code"]),
                Text(clean(a["error"], 200)), a["task_id"][:8] + ("" if a["is_latest"] else " (old)"),
            )
        return table

    def on_log_view_status(self, message: LogView.Status) -> None:
        self.query_one("#log-status", Static).update(Text(clean(message.text), style="dim"))

    def action_close(self) -> None:
        search = self.query("#log-search")
        if search and search.first().display:
            search.first().display = False
            self.query_one(LogView).focus()
            return
        self.dismiss(None)

    def action_tab(self, tab: str) -> None:
        if tab == "log" and self.kind != "task":
            return
        self.query_one(TabbedContent).active = tab
        if tab == "log":
            self.query_one(LogView).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "search":
            return self.kind == "task"
        return True

    def action_search(self) -> None:
        if self.kind != "task":
            return
        self.action_tab("log")
        box = self.query_one("#log-search", Input)
        box.display = True
        box.cursor_blink = self.live
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "log-search":
            log = self.query_one(LogView)
            log.match_line = None
            log.find(event.value)
            event.input.display = False
            log.focus()
