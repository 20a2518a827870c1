"""The key table is the one place keys are named: bindings, help, palette and README come from it."""

from __future__ import annotations

import pytest

from openclaw_board.board import BoardApp
from openclaw_board.board.screens.dialogs import ConfirmScreen, HelpScreen
from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.screens.pulse import PulseScreen
from openclaw_board.board.screens.schedules import SchedulesScreen
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
               Scope.LOG: LogView.BINDINGS, Scope.REPLAY: ReplayScreen.BINDINGS,
               Scope.CONFIRM: ConfirmScreen.BINDINGS, Scope.HELP: HelpScreen.BINDINGS,
               Scope.PULSE: PulseScreen.BINDINGS, Scope.SCHEDULES: SchedulesScreen.BINDINGS}
    for scope, bindings in holders.items():
        keys = bound(bindings)
        for b in binds(scope):
            if b.action == "command_palette":
                assert BoardApp.COMMAND_PALETTE_BINDING == b.key
            else:
                assert keys.get(b.key) == b.action, (scope, b.key)


def test_keys_active_together_do_not_collide() -> None:
    for together in ((Scope.APP, Scope.LIST), (Scope.INSPECTOR, Scope.LOG), (Scope.REPLAY,), (Scope.CONFIRM,),
                     (Scope.HELP,), (Scope.PULSE,), (Scope.SCHEDULES,)):
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


@pytest.mark.anyio
async def test_the_palette_offers_what_would_run_where_it_was_opened(demo) -> None:
    """Over the board: the selected row's actions; over the inspector: the inspected flow's, no list keys."""
    from board_support import flow_by_label, make_app

    from openclaw_board.board.commands import BoardCommands

    url, end = demo
    leads = flow_by_label(url, "leads")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        assert app.query_one(FlowList).select_key(f"f:{leads.flow_id}")
        await pilot.pause()
        on_board = [action for _, action, _ in BoardCommands(app.screen)._available()]
        assert {"inspect", "cancel", "toggle_flow", "sort"} <= set(on_board)
        assert "logs" not in on_board and "retry" not in on_board  # a running flow: no task log, nothing to retry
        await pilot.press("enter")
        await app.settled()
        await pilot.pause()
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        over_inspector = [action for _, action, _ in BoardCommands(inspector)._available()]
        assert "cancel" in over_inspector  # the inspected flow is running
        assert not {"inspect", "toggle_flow", "sort", "filter"} & set(over_inspector)
