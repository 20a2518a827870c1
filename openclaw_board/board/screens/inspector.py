"""The inspector (Enter): every field, the event timeline, the attempts, and the log."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from ..bindings import bindings
from ..view.keys import Scope, key_of
from ..view.text import clean
from ..widgets.logsave import log_file_name
from ..widgets.logview import LogView
from .inspector_text import (
    ATTEMPT_COLUMNS,
    attempt_cells,
    attempts_table,
    events_text,
    fields_text,
    log_status_text,
    title_text,
)


class InspectorScreen(Screen[None]):
    BINDINGS = bindings(Scope.INSPECTOR)

    class OpenTask(Message):
        """Enter on a flow's task: the app opens that task's inspector over this one."""

        def __init__(self, task_id: str) -> None:
            self.task_id = task_id
            super().__init__()

    def __init__(self, kind: str, ref: str, *, tab: str = "details", live: bool = True) -> None:
        super().__init__()
        self.kind = kind
        self.ref = ref
        self.first_tab = tab
        self.live = live
        self.data: dict[str, Any] | None = None
        self._run_dir: str | None | bool = False
        self._log_said = ""  # the log view's last status line

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
            if self.kind == "flow":
                # A flow's tasks (every attempt) as rows to move through; Enter inspects one.
                with TabPane("Tasks", id="attempts"):
                    yield DataTable(id="task-table", cursor_type="row", zebra_stripes=False)
            else:
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
        self.query_one("#inspector-title", Static).update(title_text(self.kind, data, colors))
        self.query_one("#fields", Static).update(fields_text(f, self.app.clock()))  # type: ignore[attr-defined]
        self.query_one("#timeline", Static).update(events_text(data["events"], colors))
        if self.kind == "flow":
            self._fill_tasks(data["attempts"], colors)
        else:
            self.query_one("#attempt-list", Static).update(attempts_table(data["attempts"], colors))
        if self.kind == "task" and data.get("run_dir") != self._run_dir:
            self._run_dir = data.get("run_dir")
            self.query_one(LogView).show_run(data.get("run_dir"), data.get("log_tail"), f.get("host"),
                                             save_as=log_file_name(f["label"], f["task_id"], f["attempt"]))
        if self.kind == "task":
            self._log_status()
        self.app.refresh_bindings()

    def _fill_tasks(self, attempts: list[dict[str, Any]], colors: dict[str, str]) -> None:
        """Refill the flow's task rows, the cursor staying on the task it was on."""
        table = self.query_one("#task-table", DataTable)
        if not table.columns:
            for col in ATTEMPT_COLUMNS:
                table.add_column(col, key=col)
        keep = None
        if table.row_count:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for a in attempts:
            table.add_row(*attempt_cells(a, colors), key=a["task_id"])
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep), animate=False)

    def pointed_task(self) -> dict[str, Any] | None:
        """The task a flow's inspector points at: the highlighted row of its Tasks tab, while
        that tab is shown (then keys act on that task, as k9s acts on the highlighted row);
        None on the other tabs, where keys act on the flow."""
        if self.kind != "flow" or self.data is None or self.query_one(TabbedContent).active != "attempts":
            return None
        table = self.query_one("#task-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((a for a in self.data["attempts"] if a["task_id"] == key), None)

    def on_data_table_row_highlighted(self) -> None:
        self.app.refresh_bindings()  # the footer offers what applies to the task now pointed at

    def on_tabbed_content_tab_activated(self) -> None:
        self.app.refresh_bindings()  # keys act on the flow, or on its Tasks tab's highlighted task

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(self.OpenTask(event.row_key.value))

    def on_log_view_status(self, message: LogView.Status) -> None:
        self._log_said = message.text
        self._log_status()

    def _log_status(self) -> None:
        f = self.data["fields"] if self.data else {}
        self.query_one("#log-status", Static).update(log_status_text(f, self._log_said))

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
        elif tab == "attempts" and self.kind == "flow":
            self.query_one("#task-table", DataTable).focus()

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
