"""The split view's right side: the selected row's details, or its log, following the cursor.

Like k9s' describe pane. It never reads the ledger: the app asks the service thread
(`Preview`, of which only the latest is read) and hands the answer to `show`. Until the
answer for a new row arrives the pane names that row and keeps nothing of the last one, so
it never shows one row's details under another's name.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ..screens.inspector_text import attempts_table, fields_text, log_status_text, title_text
from ..view.text import clean
from .logsave import log_file_name
from .logview import LogView

SPLIT_MIN_WIDTH = 160  # below this the list alone needs the width


class DetailPane(Vertical):
    """`mode` is "details" or "log" (a flow has no log of its own: it shows details)."""

    def __init__(self, *, live: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.live = live
        self.kind: str | None = None
        self.ref: str | None = None
        self.mode = "details"
        self.data: dict[str, Any] | None = None
        self._log_of: tuple[str | None, str | None] | None = None  # (task, run dir) the LogView shows
        self._log_said = ""  # the log view's last status line

    def compose(self) -> ComposeResult:
        yield Static("", id="pane-title")
        yield Static("", id="pane-status")  # over the log: the bar, what the task is doing
        with VerticalScroll(id="pane-details"):
            yield Static("", id="pane-fields")

    def follow(self, kind: str, ref: str, name: str) -> bool:
        """Show `kind` `ref` next (its data is on its way); False if it is already shown."""
        if (kind, ref) == (self.kind, self.ref):
            return False
        self.kind, self.ref, self.data = kind, ref, None
        self.query_one("#pane-title", Static).update(Text(f"{kind} {clean(name, 120)}: loading…", style="dim",
                                                          no_wrap=True, overflow="ellipsis"))
        self.query_one("#pane-fields", Static).update("")
        self._place()
        return True

    def forget(self) -> None:
        """Nothing selected (an empty list, the pager row)."""
        self.kind = self.ref = None
        self.data = None
        self.query_one("#pane-title", Static).update("")
        self.query_one("#pane-fields", Static).update("")
        self._place()

    def show(self, data: dict[str, Any] | None, error: str | None) -> None:
        if data is None:
            self.query_one("#pane-title", Static).update(
                Text(f"{self.kind} {(self.ref or '')[:8]}: {clean(error)}", style="bold red"))
            return
        self.data = data
        colors = self.app.theme_variables
        assert self.kind is not None
        self.query_one("#pane-title", Static).update(title_text(self.kind, data, colors))
        fields = fields_text(data["fields"], self.app.clock())  # type: ignore[attr-defined]
        if self.kind == "flow":  # and its tasks, as the list shows them: the latest attempts
            latest = [a for a in data["attempts"] if a["is_latest"]]
            self.query_one("#pane-fields", Static).update(
                Group(fields, Text(""), Text("Its tasks (latest attempts)", style="bold"),
                      attempts_table(latest, colors)))
        else:
            self.query_one("#pane-fields", Static).update(fields)
        self._place()

    def switch(self) -> str:
        """Details ↔ log; returns the mode now shown."""
        self.mode = "log" if self.mode == "details" else "details"
        self._place()
        return self.mode

    def _place(self) -> None:
        """Show the details or the log, and point the log at the shown task."""
        log_wanted = self.mode == "log" and self.kind == "task"
        self.query_one("#pane-details").display = not log_wanted
        self.query_one("#pane-status").display = log_wanted
        if log_wanted and self.data is not None:
            self.query_one("#pane-status", Static).update(log_status_text(self.data["fields"], self._log_said))
        logs = self.query(LogView)
        data = self.data
        shows = (self.ref, data.get("run_dir")) if data is not None else None
        if not log_wanted or data is None:
            if logs and (not log_wanted or self._log_of != shows):
                logs.remove()  # a fresh LogView per task: no state of the last one's log
                self._log_of = None
            return
        if self._log_of == shows and logs:
            return  # the same task's same run: its LogView follows it already
        logs.remove()
        view = LogView(live=self.live, id="pane-log")
        f = data["fields"]
        view.initial = (data.get("run_dir"), data.get("log_tail"), f.get("host"),
                        log_file_name(f["label"], f["task_id"], f["attempt"]))
        self.mount(view)
        self._log_of = shows

    def on_log_view_status(self, message: LogView.Status) -> None:
        message.stop()
        self._log_said = message.text
        if self.data is not None:
            self.query_one("#pane-status", Static).update(log_status_text(self.data["fields"], message.text))
