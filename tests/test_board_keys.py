"""The key table is the one place keys are named: bindings, help, palette and README come from it."""

from __future__ import annotations

from openclaw_board.board import BoardApp
from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.screens.time_travel import ReplayScreen
from openclaw_board.board.view import readme_keys
from openclaw_board.board.view.keys import KEYS, Scope, When, bare, binds, commands, help_lines, when_of
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.board.widgets.logview import LogView


def bound(bindings: list) -> dict[str, str]:
    """key -> action over a widget's BINDINGS."""
    return {key.strip(): b.action for b in bindings for key in b.key.split(",")}


def test_the_readme_key_table_is_the_key_table() -> None:
    text = readme_keys.README.read_text(encoding="utf-8")
    assert readme_keys.with_table(text) == text, (
        "README.md's key table is out of date: run python -m openclaw_board.board.view.readme_keys --write")


def test_every_documented_key_is_bound_where_its_table_says() -> None:
    holders = {Scope.APP: BoardApp.BINDINGS, Scope.LIST: FlowList.BINDINGS, Scope.INSPECTOR: InspectorScreen.BINDINGS,
               Scope.LOG: LogView.BINDINGS, Scope.REPLAY: ReplayScreen.BINDINGS}
    for scope, bindings in holders.items():
        keys = bound(bindings)
        for b in binds(scope):
            if b.action == "command_palette":
                assert BoardApp.COMMAND_PALETTE_BINDING == b.key
            else:
                assert keys.get(b.key) == b.action, (scope, b.key)


def test_keys_active_together_do_not_collide() -> None:
    for together in ((Scope.APP, Scope.LIST), (Scope.INSPECTOR, Scope.LOG), (Scope.REPLAY,)):
        keys = [b.key for scope in together for b in binds(scope)]
        assert len(keys) == len(set(keys)), together


def test_the_help_lists_every_key_of_the_table() -> None:
    lines = help_lines()
    assert len([line for line in lines if line[1]]) == len(KEYS)
    assert ("↑ ↓  j k", "move") in lines and ("In time travel", "") in lines


def test_every_palette_command_is_an_action_with_a_rule() -> None:
    for b in commands():
        assert callable(getattr(BoardApp, f"action_{bare(b.action)}", None)), b.action
    assert when_of("cancel") is When.LEDGER_ACTION and when_of("help") is When.ALWAYS
    assert when_of("not_in_the_table") is When.ALWAYS
