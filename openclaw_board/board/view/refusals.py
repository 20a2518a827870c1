"""Why a key does nothing here: the toast a refused key shows, so that no key is ever silent.

The footer hides what does not apply to the selected row (`check_action`), but a key pressed
anyway must say why ("nothing to cancel: succeeded", "no log: flow row"). Pure: given the
rule the key table gives the action and what is selected, one sentence.
"""

from __future__ import annotations

from .keys import When, key_of
from .model import Row, ViewSpec
from .targets import Target, ledger_call
from .text import clean

# What an action is called in a refusal ("nothing to <verb>", "no <thing>").
_NOTHING_TO = {"cancel": "cancel", "retry": "retry", "reopen": "reopen", "approve": "approve", "deny": "deny",
               "toggle_flow": "expand", "inspect": "inspect", "time_travel": "replay"}


def _row_name(row: Row | None) -> str:
    if row is None:
        return "no row selected"
    return {"flow": "flow row", "task": "task row", "more": "pager row"}.get(row.kind, row.kind)


def refusal(action: str, when: When, *, readonly: bool, on_board: bool, row: Row | None,
            target: Target | None, in_past: bool) -> str:
    """The reason `action` does not run now (its `When` rule said no)."""
    if when is When.LEDGER_ACTION:
        if readonly:
            return "read-only board: actions are off"
        if not on_board and target is None:
            return f"nothing to {action} here: {key_of('clear_filter')} goes back"
        if target is None:
            return f"nothing to {action}: {_row_name(row)}"
        if ledger_call(action, target) is None:
            return f"nothing to {action}: {target.kind} row"
        return f"nothing to {action}: {target.status}"
    if not on_board:
        return f"not here: {key_of('clear_filter')} goes back to the list"
    if action == "logs":
        if in_past:
            return f"no log in the past: {key_of('time_travel')} replays the flow"
        return f"no log: {_row_name(row)}"
    if when is When.MORE:
        return "no older flows to show"
    if when is When.FILTERED:
        return "no filter to clear"
    verb = _NOTHING_TO.get(action, action.replace("_", " "))
    return f"nothing to {verb}: {_row_name(row)}"


def empty_view_text(spec: ViewSpec, rows: tuple[Row, ...]) -> str:
    """What an empty list says when a filter emptied it (and how to get the flows back)."""
    if rows:
        return ""
    if spec.text.strip():
        return f"  no flows match '{clean(spec.text.strip(), 60)}' ({key_of('clear_filter')} clears)"
    if spec.status != "all":
        show_all = key_of("status_filter('all')")
        return f"  no {spec.status} flows ({show_all} shows all)"
    return ""
