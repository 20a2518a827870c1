"""The split view (`v`): the list on the left, the selected row's details or log on the right.

A base of BoardApp, apart from navigation.py so that each reads on its own. Off at start:
the list's columns use a wide terminal's width too, screenshots and README pictures stay
the list, and a pane that came and went with the window's width would move the list under
the operator's eyes. Once on, it stays on; it hides below SPLIT_MIN_WIDTH columns and
comes back when the terminal is wide again.

The pane follows the cursor through `Preview` requests: only the latest is read on the
service thread, so holding `j` over a thousand rows costs a read or two, not a thousand.
"""

from __future__ import annotations

from .app_state import BoardState
from .service.answers import Inspected
from .service.requests import Preview
from .view.keys import key_of
from .widgets.detailpane import SPLIT_MIN_WIDTH, DetailPane


class SplitView(BoardState):
    split_on = False  # asked for (it shows when the terminal is also wide enough)
    _previewed: object = None  # the row's view (TaskView, FlowView) the pane's data was asked for

    @property
    def pane(self) -> DetailPane:
        return self.query_one(DetailPane)

    def split_shown(self) -> bool:
        return self.split_on and self.size.width >= SPLIT_MIN_WIDTH

    def action_split(self) -> None:
        if self.at is not None:  # the pane reads today's details; the past board's are replayed
            self.notify(f"the split view shows today; in the past, {key_of('time_travel')} replays a flow",
                        severity="warning", timeout=4)
            return
        if self.size.width < SPLIT_MIN_WIDTH:  # on or off, nothing would show: say why
            later = " (it comes back when the terminal is wider)" if self.split_on else ""
            self.notify(f"the split view needs {SPLIT_MIN_WIDTH} columns; this terminal has {self.size.width}"
                        + later, severity="warning", title="no room", timeout=4)
            return
        self.split_on = not self.split_on
        self.place_split()

    def action_split_mode(self) -> None:
        if not self.split_shown():
            self.notify("the split view is off: nothing to switch", severity="warning", timeout=3)
            return
        mode = self.pane.switch()
        if mode == "log" and self.pane.kind == "flow":
            self.notify("a flow has no log of its own: select one of its tasks", timeout=3)

    def place_split(self) -> None:
        """Show or hide the pane for the current width; when shown, point it at the selection."""
        if self.closing:  # asked for after a resize, which may come as the board closes
            return
        shown = self.split_shown()
        pane = self.pane
        if pane.display != shown:
            pane.display = shown
            self.call_after_refresh(self._draw_columns)
        if shown:
            self._previewed = None  # shown anew: read anew
            self.preview_selected(again=True)

    def preview_selected(self, again: bool = False) -> None:
        """Point the pane at the selected row and ask for its data (`again`: even if it is
        the row already shown, as after a change in the ledger, when that row changed)."""
        if not self.split_shown() or self.service is None:
            return
        row = self.selected
        pane = self.pane
        view: object
        if row is not None and row.kind == "task" and row.task is not None:
            view, kind, ref, name = row.task, "task", row.task.task_id, f"{row.task.label} #{row.task.attempt}"
        elif row is not None and row.kind == "flow" and row.flow is not None:
            view, kind, ref, name = row.flow, "flow", row.flow.flow_id, row.flow.goal
        else:
            pane.forget()
            self._previewed = None
            return
        if pane.follow(kind, ref, name) or (again and view != self._previewed):
            self._previewed = view
            self.service.submit(Preview(kind, ref))

    def show_preview(self, answer: Inspected) -> None:
        pane = self.pane
        if pane.display and (answer.kind, answer.ref) == (pane.kind, pane.ref):
            pane.show(answer.data, answer.error)

    def _draw_columns(self) -> None:  # BoardApp's: the column header spans the list alone
        raise NotImplementedError
