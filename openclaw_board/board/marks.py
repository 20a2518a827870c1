"""Marks and bulk actions: space marks rows, then c r o a d act on every marked row.

A base of BoardApp, like navigation.py. The marks themselves live in the flow list (by row
key); the rules (what applies, what is skipped and why, what the dialog and the toast say)
are view/bulk.py's; the calls go to the service thread as one ActMany request.
"""

from __future__ import annotations

from .app_state import BoardState
from .screens.dialogs import ConfirmScreen
from .service.requests import ActMany
from .view import bulk
from .view import targets as act
from .view.model import Row
from .widgets.flowlist import FlowList


def row_target(row: Row) -> act.Target | None:
    """What an action on `row` applies to (the same as BoardState.target for a selected row)."""
    if row.kind == "task" and row.task is not None:
        t = row.task
        return act.Target("task", t.task_id, t.label, t.status, t.flow_id)
    if row.kind == "flow" and row.flow is not None:
        fl = row.flow
        return act.Target("flow", fl.flow_id, fl.goal, fl.status, fl.flow_id,
                          fl.cancel_requested_at is not None, fl.counts)
    return None


class MarkActions(BoardState):
    @property
    def marked_targets(self) -> list[act.Target]:
        found = (row_target(row) for row in self.query_one(FlowList).marks.values())
        return [t for t in found if t is not None]

    def action_toggle_mark(self) -> None:
        flows = self.query_one(FlowList)
        if flows.toggle_mark() is not None:
            flows.action_cursor(1)  # on to the next row, as k9s and mutt do

    def action_clear_marks(self) -> None:
        count = self.query_one(FlowList).clear_marks()
        if count:
            self.notify(f"{count} mark{'s' if count != 1 else ''} cleared", timeout=2)

    def _act_marked(self, action: str) -> bool:
        """Act on the marked rows, if there are any (True: handled here). Always asks first."""
        targets = self.marked_targets
        if not targets:
            return False
        p = bulk.plan(action, targets)
        if not p.todo:
            why = ", ".join(f"{n} {reason}" for reason, n in p.skipped)
            self.notify(f"nothing to {action} among {p.marked} marked: {why}", severity="warning", title="refused")
            return True
        title, body = bulk.confirm_text(p)

        def answered(yes: bool | None) -> None:
            if yes and self.service is not None:
                self.service.submit(ActMany(action, tuple((verb, ref) for verb, ref, _, _ in p.todo), p.skipped))
                self.query_one(FlowList).clear_marks()

        yes = f"Yes, {action} {len(p.todo)}"
        self.push_screen(ConfirmScreen(title, body, yes=yes), answered)
        return True
