"""The inspector speaks to people: labelled fields, human durations, the command quoted as
the CLI quotes it; a flow's tasks are rows to move into. Pilot on a real SQLite ledger."""

from __future__ import annotations

import json
import shlex

import pytest
from board_support import flow_by_label, make_app, screen_text, task_by_label
from board_support import press as _press

from openclaw_board.board.screens.dialogs import ConfirmScreen
from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.view.text import span
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.cli.render import command_line as cli_command_line
from openclaw_board.ledger.command_text import command_line
from openclaw_board.safetext import visible

pytestmark = pytest.mark.anyio


def test_spans_read_as_a_spec_writes_them() -> None:
    assert [span(s) for s in (45, 60, 125, 900, 5400, 7200, 36000, 86400, 90000)] == [
        "45s", "1m", "2m05s", "15m", "1h30m", "2h", "10h", "1d", "1d1h"]


def test_the_board_and_the_cli_quote_commands_with_one_function() -> None:
    assert cli_command_line is command_line
    assert command_line(["python3", "-c", "print('a b')"]) == "python3 -c 'print('\"'\"'a b'\"'\"')'"
    assert command_line("echo $HOME | wc") == "echo $HOME | wc"  # a shell string stays as written


async def test_task_fields_have_human_labels(demo):
    url, end = demo
    kb = task_by_label(url, "kb", "reindex")
    app = make_app(url, end)
    async with app.run_test(size=(160, 50)) as pilot:
        await app.settled()
        await pilot.pause()
        assert app.query_one(FlowList).select_key(f"t:{kb.flow_id}:reindex")
        await _press(app, pilot, "enter")
        text = screen_text(app)
        assert "Timeout         15m" in text
        assert f"Progress        {kb.progress:.0f} %" in text
        quoted = shlex.join(json.loads(kb.command_json))  # `-c 'import time⏎n=120...'`: quoted, newlines shown
        assert "Command         " + visible(quoted)[:60] in text and "-u -c 'import time⏎n=120" in text
        assert "Started         11-" in text and " ago)" in text and "so far" in text  # times and a running Ran
        assert "timeout_s" not in text and "progress_summary" not in text


async def open_flow(app, pilot, flow_id: str) -> InspectorScreen:
    """The board settled, the flow's row selected and Enter pressed: its inspector."""
    await app.settled()
    await pilot.pause()
    assert app.query_one(FlowList).select_key(f"f:{flow_id}")
    await _press(app, pilot, "enter")
    flow_screen = app.screen
    assert isinstance(flow_screen, InspectorScreen) and flow_screen.kind == "flow"
    return flow_screen


async def tasks_tab(app, pilot, flow_screen: InspectorScreen):
    """Key 3 on a flow's inspector: its task table and the labels of its rows, in order."""
    await _press(app, pilot, "3")
    table = flow_screen.query_one("#task-table")
    return table, [table.get_row_at(i)[0].plain for i in range(table.row_count)]


async def test_a_flows_tasks_are_rows_that_open_their_inspector(demo):
    url, end = demo
    research = flow_by_label(url, "research")
    initech = task_by_label(url, "research", "fetch-initech")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        flow_screen = await open_flow(app, pilot, research.flow_id)
        table, labels = await tasks_tab(app, pilot, flow_screen)
        assert table.has_focus and table.row_count >= 4
        await _press(app, pilot, *["down"] * labels.index("fetch-initech"), "enter")
        task_screen = app.screen
        assert isinstance(task_screen, InspectorScreen) and task_screen is not flow_screen
        assert task_screen.kind == "task" and task_screen.ref == initech.task_id
        assert "task fetch-initech #1" in screen_text(app)
        await _press(app, pilot, "escape")
        assert app.screen is flow_screen  # back to the flow, on the task it left from
        assert table.cursor_row == labels.index("fetch-initech")


async def test_keys_act_on_the_task_highlighted_in_a_flows_tasks_tab(demo):
    """k9s-like: on a flow's Tasks tab, approve and cancel act on the highlighted task; on its
    other tabs, on the flow (which takes no approve)."""
    url, end = demo
    release = flow_by_label(url, "release")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        flow_screen = await open_flow(app, pilot, release.flow_id)
        await _press(app, pilot, "a")  # Details tab: the flow, which approve does not apply to
        assert app.screen is flow_screen
        _, labels = await tasks_tab(app, pilot, flow_screen)
        await _press(app, pilot, *["down"] * labels.index("review"), "a")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Approve 'review' of 'Release notes for v2.4'?"
        await _press(app, pilot, "y")
        assert task_by_label(url, "release", "review").status == "queued"
        moves = labels.index("publish") - labels.index("review")
        await _press(app, pilot, *(["down"] * moves if moves > 0 else ["up"] * -moves), "c")
        assert isinstance(app.screen, ConfirmScreen) and "publish" in app.screen.title_text
        await _press(app, pilot, "y")
        assert app.screen is flow_screen
    assert task_by_label(url, "release", "publish").status == "cancelled"
    assert flow_by_label(url, "release").cancel_requested_at is None  # the flow itself was not cancelled
