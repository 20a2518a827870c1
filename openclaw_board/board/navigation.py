"""What the board's keys do to the view: move, open, filter, sort, page, inspect, replay.

A base of BoardApp (kept apart so that board_app.py stays about wiring): it sets `self.spec`,
whose watcher asks the service thread for the rows; only that thread touches the ledger.
"""

from __future__ import annotations

from textual.widgets import Input

from .app_state import BoardState
from .screens.dialogs import HelpScreen
from .screens.inspector import InspectorScreen
from .screens.time_travel import ReplayScreen
from .service.answers import HistoryRead
from .service.history_reads import history_request
from .service.requests import Call, Inspect
from .view.sorting import next_sort, sort_label
from .widgets.flowlist import FlowList


class ViewActions(BoardState):
    """Key actions that change what the board shows (no ledger writes here)."""

    def action_toggle_flow(self) -> None:
        row = self.selected
        if row is None or row.flow is None:
            return
        flow_id = row.flow.flow_id
        opened = row.expanded if row.kind == "flow" else True
        expanded, collapsed = set(self.spec.expanded), set(self.spec.collapsed)
        if opened:
            expanded.discard(flow_id)
            collapsed.add(flow_id)
        else:
            collapsed.discard(flow_id)
            expanded.add(flow_id)
        if row.kind == "task":
            self.query_one(FlowList).select_key(f"f:{flow_id}")
        self.spec = self._spec(expanded=frozenset(expanded), collapsed=frozenset(collapsed))

    def set_flow_open(self, open_it: bool) -> None:
        """→ opens the selected row's flow, ← closes it (from a task, ← closes its flow and
        moves to it): the tree's keys, as in a file manager."""
        row = self.selected
        if row is None or row.flow is None or self.spec.flat:
            return
        is_open = row.expanded if row.kind == "flow" else True  # a task row: its flow is open
        if is_open != open_it:
            self.action_toggle_flow()

    def action_flat(self) -> None:
        """Flows (a tree) or tasks (every latest task, one row each): the filter keys apply to
        either; the cursor stays on the same task when there is one."""
        self.spec = self._spec(flat=not self.spec.flat)  # the column titles say which view it is

    def action_inspect(self) -> None:
        row = self.selected
        if row is None:
            return
        if self.at is not None and row.kind != "more":
            self.action_time_travel()  # the inspector shows today; in the past, replay the flow
            return
        if row.kind == "more":
            self.action_more()
            return
        if row.kind == "task" and row.task is not None:
            self._open_inspector("task", row.task.task_id, "details")
        elif row.flow is not None:
            self._open_inspector("flow", row.flow.flow_id, "details")

    def action_logs(self) -> None:
        row = self.selected
        if row is not None and row.kind == "task" and row.task is not None:
            self._open_inspector("task", row.task.task_id, "log")

    def _open_inspector(self, kind: str, ref: str, tab: str) -> None:
        assert self.service is not None
        self.push_screen(InspectorScreen(kind, ref, tab=tab, live=self.live))
        self.service.submit(Inspect(kind, ref))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.spec.text
        box.focus()

    def action_clear_filter(self) -> None:
        """Esc: clears the marks first when there are any, else the filter."""
        if self.query_one(FlowList).clear_marks():
            return
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.query_one(FlowList).focus()
        if self.spec.text or self.spec.status != "all":
            self.spec = self._spec(text="", status="all")

    def action_status_filter(self, status: str) -> None:
        if status != self.spec.status:
            self.spec = self._spec(status=status)

    def action_sort(self) -> None:
        self.sort_by(next_sort(self.spec.sort), reverse=False)

    def action_sort_reverse(self) -> None:
        self.sort_by(self.spec.sort, reverse=not self.spec.reverse)

    def sort_by(self, sort: str, reverse: bool) -> None:
        """Sort the list (by `s`, `S` or a click on a column title) and say how."""
        self.spec = self._spec(sort=sort, reverse=reverse)
        self.notify(f"sorted by {sort_label(sort, reverse)}", timeout=2)

    def action_more(self) -> None:
        self.spec = self._spec(terminal_limit=self.spec.terminal_limit + self.page_size)

    def action_time_travel(self) -> None:
        """Replay the selected flow event by event (from the board's moment when it has one)."""
        row = self.selected
        if row is not None and row.flow is not None and self.service is not None:
            self.push_screen(ReplayScreen(row.flow.flow_id, self.at))
            self.service.submit(Call(history_request(row.flow.flow_id, lambda h: self._deliver(HistoryRead(h)))))

    def action_save_screenshot(self) -> None:
        from .pictures.files import save_screen_of

        save_screen_of(self)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.readonly))
