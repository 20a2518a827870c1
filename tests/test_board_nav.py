"""Pilot tests of moving around the board (issue 15): Esc and q go back one screen, every
action that starts, stops or discards work asks first, a refused key says why, the column
titles follow the rows after any resize, sorting by any column, and what a filter shows."""

from __future__ import annotations

import pytest
from board_support import make_app, screen_text, task_by_label
from board_support import press as _press
from board_support import select as _select
from board_support import settle as _start
from rich.style import Style

from openclaw_board.board.screens.dialogs import ConfirmScreen, HelpScreen
from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.screens.time_travel import ReplayScreen
from openclaw_board.board.widgets.cells import columns
from openclaw_board.board.widgets.column_header import ColumnHeader, column_spans, marked_header
from openclaw_board.board.widgets.flowlist import FlowList

pytestmark = pytest.mark.anyio


def _toasts(app) -> list[str]:
    return [n.message for n in app._notifications]


def _titles(app) -> str:
    return app.query_one(ColumnHeader)._plain


async def test_column_titles_match_the_rows_after_every_resize(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)
        for width, height in ((160, 40), (80, 24), (200, 60), (120, 40), (100, 12), (160, 40), (109, 50)):
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.1)
            await app.settled()
            await pilot.pause()
            rows_width = flows.row_width  # the rows lose a cell to the scrollbar when it shows
            c = columns(rows_width)
            titles = _titles(app)
            assert titles == marked_header(rows_width, "status", False, Style()).plain, (width, height)
            assert ("RUNTIME" in titles) == bool(c.runtime) and ("PROGRESS" in titles) == bool(c.bar)
            # On screen too: the line of titles is the one drawn for the rows' width.
            line = next(ln for ln in screen_text(app).splitlines() if "FLOW / TASK" in ln)
            assert line.strip() == titles.strip(), (width, height)


async def test_esc_and_q_go_back_one_screen_and_q_quits_only_from_the_list(demo):
    url, end = demo
    reindex = task_by_label(url, "kb", "reindex")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{reindex.flow_id}:reindex")
        for opener, screen_type in (("enter", InspectorScreen), ("l", InspectorScreen), ("t", ReplayScreen),
                                    ("question_mark", HelpScreen), ("c", ConfirmScreen)):
            for back in ("escape", "q"):
                await _press(app, pilot, opener)
                assert isinstance(app.screen, screen_type), opener
                await _press(app, pilot, back)
                assert app.screen is app.screen_stack[0], f"{back} after {opener}"
                assert app.is_running, f"{back} after {opener} quit the board"
        assert task_by_label(url, "kb", "reindex").status == "running"  # the confirm said No
        await _press(app, pilot, "question_mark")
        footer = screen_text(app).splitlines()[-1]
        assert "Quit" not in footer
        await _press(app, pilot, "q", "q")
    assert app.return_value == 0


async def test_approve_asks_first_naming_the_work_no_focused(demo):
    url, end = demo
    send = task_by_label(url, "campaign", "send")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{send.flow_id}:send")
        for no in ("n", "escape", "enter"):  # Enter presses the focused button: No
            await _press(app, pilot, "a")
            assert isinstance(app.screen, ConfirmScreen)
            text = screen_text(app)
            assert "Approve 'send' of 'Send the winter campaign to 12,480 contacts'?" in text
            assert "it will start" in text
            assert app.focused is not None and app.focused.id == "no"
            await _press(app, pilot, no)
            assert not isinstance(app.screen, ConfirmScreen)
            assert task_by_label(url, "campaign", "send").status == "awaiting_approval", no
        await _press(app, pilot, "a", "y")
    assert task_by_label(url, "campaign", "send").status == "queued"


async def test_deny_retry_reopen_ask_first_and_no_changes_nothing(demo):
    url, end = demo
    review = task_by_label(url, "release", "review")
    export = task_by_label(url, "billing", "export")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{review.flow_id}:review")
        await _press(app, pilot, "d")
        assert "Deny 'review' of 'Release notes for v2.4'?" in screen_text(app)
        await _press(app, pilot, "n")
        _select(app, f"f:{export.flow_id}")
        await _press(app, pilot, "o")
        assert "Reopen flow 'Migrate billing export to the new API'?" in screen_text(app)
        await _press(app, pilot, "escape")
        await _press(app, pilot, "e", "j", "r")
        assert "Retry 'export' of 'Migrate billing export to the new API'?" in screen_text(app)
        await _press(app, pilot, "q")
        assert app.is_running and app.screen is app.screen_stack[0]
    assert task_by_label(url, "release", "review").status == "awaiting_approval"
    after = task_by_label(url, "billing", "export")
    assert (after.status, after.attempt) == ("blocked", export.attempt)


async def test_a_key_that_does_nothing_here_says_why(demo):
    url, end = demo
    acme = task_by_label(url, "research", "fetch-acme")
    reindex = task_by_label(url, "kb", "reindex")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{acme.flow_id}:fetch-acme")
        await _press(app, pilot, "c", "a")
        _select(app, f"t:{reindex.flow_id}:reindex")
        await _press(app, pilot, "r", "o")
        _select(app, f"f:{reindex.flow_id}")
        await _press(app, pilot, "l", "d", "escape")
        assert not isinstance(app.screen, ConfirmScreen)
        assert _toasts(app) == ["nothing to cancel: succeeded", "nothing to approve: succeeded",
                                "nothing to retry: running", "nothing to reopen: task row",
                                "no log: flow row", "nothing to deny: flow row", "no filter to clear"]
        # Off the list, a list key says where it works; the inspector's target answers for actions.
        _select(app, f"t:{reindex.flow_id}:reindex")
        await _press(app, pilot, "enter")
        await _press(app, pilot, "s", "r")
        assert isinstance(app.screen, InspectorScreen)
        assert _toasts(app)[-2:] == ["not here: Esc goes back to the list", "nothing to retry: running"]
    assert task_by_label(url, "research", "fetch-acme").status == "succeeded"


async def test_filter_finds_task_labels_highlights_them_and_says_when_nothing_matches(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)
        await _press(app, pilot, "slash", *"fetch", "enter")
        assert [r.key.split(":")[-1] for r in flows.rows] == [
            flows.rows[0].key.split(":")[-1], "fetch-acme", "fetch-globex", "fetch-initech"]
        assert flows.rows[0].flow.label == "research" and flows.rows[0].expanded
        # The match is marked (reverse video) on the task rows, in the rendered cells.
        strip = flows.render_line(1)
        marked = "".join(seg.text for seg in strip if seg.style is not None and seg.style.reverse)
        assert marked.casefold() == "fetch"
        assert "4 rows · filter “fetch” · sort status ↓" in screen_text(app)
        await _press(app, pilot, "slash", "ctrl+u", *"zzz", "enter")
        assert flows.rows == ()
        assert "no flows match 'zzz' (Esc clears)" in screen_text(app)
        assert "0 rows · filter “zzz”" in screen_text(app)
        await _press(app, pilot, "escape")
        assert "no flows match" not in screen_text(app)


async def test_sort_by_any_column_either_way_by_key_and_by_click(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(160, 40)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)

        def goals() -> list[str]:
            return [r.flow.goal for r in flows.rows if r.kind == "flow"]

        await _press(app, pilot, *"sss")
        assert app.spec.sort == "goal" and goals() == sorted(goals(), key=str.casefold)
        await _press(app, pilot, "S")
        assert app.spec.reverse and goals() == sorted(goals(), key=str.casefold, reverse=True)
        assert "sort goal ↑" in screen_text(app) and "FLOW / TASK▲" in _titles(app)
        spans = {sort: start for start, _end, sort in column_spans(_titles(app))}
        runtime_x = spans["runtime"] + 2 + 1  # the header's left padding, into the title
        await pilot.click(ColumnHeader, offset=(runtime_x, 0))
        await app.settled()
        await pilot.pause()
        assert (app.spec.sort, app.spec.reverse) == ("runtime", False)
        totals = [r.flow.total for r in flows.rows if r.kind == "flow"]
        assert totals == sorted(totals, reverse=True)
        await pilot.click(ColumnHeader, offset=(runtime_x, 0))
        await app.settled()
        await pilot.pause()
        assert (app.spec.sort, app.spec.reverse) == ("runtime", True)
        assert "sort runtime ↑" in screen_text(app) and "RUNTIME▲" in _titles(app)
        assert "sorted by runtime ↑" in _toasts(app)[-1]


async def test_a_finished_flow_found_by_a_task_label_opens_on_that_task(sqlite_url):
    from openclaw_board.ledger import Ledger, command_spec
    from openclaw_board.ledger.spec import parse_spec

    with Ledger(sqlite_url) as ledger:
        flow_id, ids = ledger.submit(parse_spec({"goal": "Nightly upkeep", "tasks": [
            {"label": "compress-logs", "command": ["true"]}, {"label": "rotate", "command": ["true"]}]}, "test"))
        ledger.submit(command_spec("Other work", ["true"]))
        sup = ledger.register_supervisor("h", 1, None)
        while (claimed := ledger.claim_next(sup.supervisor_id, "h").task) is not None:
            ledger.finish(claimed.task_id, "succeeded", supervisor_id=sup.supervisor_id, exit_code=0)
        end = ledger.clock()
    app = make_app(sqlite_url, end)
    async with app.run_test(size=(120, 30)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)
        assert [r.kind for r in flows.rows] == ["flow", "flow"]  # finished flows stay closed
        await _press(app, pilot, "slash", *"COMPRESS", "enter")
        assert [r.key for r in flows.rows] == [f"f:{flow_id}", f"t:{flow_id}:compress-logs"]
        assert "2 rows · filter “COMPRESS”" in screen_text(app)
