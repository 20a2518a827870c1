"""Pilot tests of the list at several widths, its cost when idle, the flat view and marks with
bulk actions, on the prepared demo ledger (real SQLite, the real board)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from board_support import flow_by_label, make_app, screen_text, task_by_label
from board_support import press as _press

from openclaw_board.board import BoardApp
from openclaw_board.board.screens.dialogs import ConfirmScreen
from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.ledger import Ledger

pytestmark = pytest.mark.anyio
MIN = 60_000


def _toasts(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def _lines(app) -> list[str]:
    return screen_text(app).splitlines()


async def test_columns_at_80_120_and_200_and_after_a_resize(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.settled()
        await pilot.pause()
        lines = _lines(app)
        head = next(line for line in lines if "STATUS" in line)
        assert "RUNTIME" not in head and "TRY" not in head and "PROGRESS" in head
        assert any("approval?" in line for line in lines)  # the status stays, shortened
        assert any("%" in line and "enrich-1" in line for line in lines)  # a compact bar stays
        await pilot.resize_terminal(120, 36)
        await app.settled()
        await pilot.pause(0.1)
        lines = _lines(app)
        head = next(line for line in lines if "STATUS" in line)
        assert "TRY" in head and "RUNTIME" not in head
        # The goal has room: the whole goal and label, where ~30 characters showed before.
        assert any("Lead enrichment: October webinar signups (leads)" in line for line in lines)
        status_at = head.index("STATUS")
        assert head[status_at:status_at + 14].replace("▼", " ") == "STATUS    TRY "  # 9 wide, not 17 (▼: the sort)
        await pilot.resize_terminal(200, 40)
        await app.settled()
        await pilot.pause(0.1)
        head = next(line for line in _lines(app) if "STATUS" in line)
        assert "RUNTIME" in head  # the column titles follow the resize
        row = next(line for line in _lines(app) if "enrich-1" in line)
        assert row.index("running") == head.index("STATUS")
        for size in ((120, 40), (120, 14), (121, 14)):  # no scrollbar, then one: a cell less for the rows
            await pilot.resize_terminal(*size)
            await app.settled()
            await pilot.pause(0.1)
            lines = _lines(app)
            head = next(line for line in lines if "STATUS" in line)
            row = next(line for line in lines if "Re-index" in line)
            assert row.index("running") == head.index("STATUS"), size
            assert row.index("%") == head.index("DETAIL") - 2, size  # the bar ends just before the detail


async def test_an_idle_tick_redraws_nothing_and_a_minute_a_line_per_row(demo):
    url, end = demo
    now = [end + 10 * MIN]
    app = BoardApp(url, clock=lambda: now[0], live=False, title="demo", theme="openclaw-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        await pilot.pause()
        flows = app.query_one(FlowList)
        flows.tick()
        await pilot.pause()
        live = sum(1 for r in flows.rows if (r.task or r.flow) and (r.task or r.flow).ended_at is None)
        assert live >= 10
        lines, rendered = flows.lines_refreshed, flows.rows_rendered
        for _ in range(5):
            flows.tick()  # the same moment: nothing to do at all
        await pilot.pause()
        assert (flows.lines_refreshed, flows.rows_rendered) == (lines, rendered)
        for _ in range(60):  # a minute of 1 s ticks
            now[0] += 1000
            flows.tick()
            await pilot.pause()
        # Each live row's text moves about once a minute (elapsed, and its ETA out of step);
        # it redrew 60 times a minute before.
        assert flows.lines_refreshed - lines <= 2 * live
        assert flows.rows_rendered - rendered <= 2 * live
        # A new board where one row changed redraws that line only.
        lines = flows.lines_refreshed
        rows = list(flows.rows)
        i = next(i for i, r in enumerate(rows) if r.task is not None and r.task.status == "running")
        rows[i] = replace(rows[i], task=replace(rows[i].task, progress=99.0))
        flows.set_rows(tuple(rows))
        await pilot.pause()
        assert flows.lines_refreshed - lines == 1
        assert "99%" in screen_text(app)


async def test_the_flat_view_lists_tasks_filters_them_and_acts_on_them(demo):
    url, end = demo
    export = task_by_label(url, "billing", "export")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        await pilot.pause()
        flows = app.query_one(FlowList)
        await _press(app, pilot, "f")
        assert flows.rows and all(r.kind == "task" and r.flat for r in flows.rows)
        labels = {r.task.label for r in flows.rows}
        assert {"export", "enrich-1", "send", "email"} <= labels  # collapsed and finished flows too
        assert "TASK" in screen_text(app) and "Migrate billing export" in screen_text(app)
        await _press(app, pilot, "3")  # issues: every failed, timed out, lost or blocked task now
        assert [r.task.label for r in flows.rows] == ["export"]
        await _press(app, pilot, "r")
        assert isinstance(app.screen, ConfirmScreen) or task_by_label(url, "billing", "export").attempt == 2
        if isinstance(app.screen, ConfirmScreen):  # retry may ask (it starts work again)
            await _press(app, pilot, "y")
        assert task_by_label(url, "billing", "export").attempt == 2
        await _press(app, pilot, "1")
        assert flows.select_key(f"t:{export.flow_id}:export")
        await _press(app, pilot, "enter")
        assert isinstance(app.screen, InspectorScreen) and app.screen.kind == "task"
        await _press(app, pilot, "escape")
        await _press(app, pilot, "f")  # back to the tree, on the same task
        assert not any(r.flat for r in flows.rows)
        assert flows.selected.key == f"t:{export.flow_id}:export"


async def test_marks_act_on_every_marked_row_with_a_count(demo):
    url, end = demo
    leads = flow_by_label(url, "leads")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        await pilot.pause()
        flows = app.query_one(FlowList)
        assert flows.select_key(f"t:{leads.flow_id}:enrich-1")
        await _press(app, pilot, "space", "space")  # marks enrich-1 and enrich-2, moving down
        assert set(flows.marks) == {f"t:{leads.flow_id}:enrich-1", f"t:{leads.flow_id}:enrich-2"}
        assert "● 2 marked" in screen_text(app)
        await _press(app, pilot, "k", "space")  # unmarks enrich-2
        assert len(flows.marks) == 1
        publish = task_by_label(url, "release", "publish")
        assert flows.select_key(f"t:{publish.flow_id}:publish")
        await _press(app, pilot, "space")
        done = task_by_label(url, "research", "fetch-acme")
        assert flows.select_key(f"t:{done.flow_id}:fetch-acme")
        await _press(app, pilot, "space")
        assert "● 3 marked" in screen_text(app)
        await _press(app, pilot, "c")
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert "Cancel 2 marked tasks?" in text and "Skipped: 1 already finished." in text
        await _press(app, pilot, "n")
        assert len(flows.marks) == 3  # No keeps them
        with Ledger(url) as ledger:  # one moves on after it was marked: the ledger refuses it
            ledger.cancel_task(publish.task_id, "test")
        await _press(app, pilot, "c", "y")
        assert "1 cancelled, 2 already finished" in _toasts(app)
        assert task_by_label(url, "leads", "enrich-1").cancel_requested_at is not None
        assert not flows.marks and "marked" not in screen_text(app)


async def test_escape_and_u_clear_marks_and_nothing_applies_says_why(demo):
    url, end = demo
    done = task_by_label(url, "research", "fetch-acme")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        await pilot.pause()
        flows = app.query_one(FlowList)
        assert flows.select_key(f"t:{done.flow_id}:fetch-acme")
        await _press(app, pilot, "space")
        await _press(app, pilot, "a")
        assert not isinstance(app.screen, ConfirmScreen)
        assert "nothing to approve among 1 marked: 1 already finished" in _toasts(app)
        await _press(app, pilot, "escape")
        assert not flows.marks
        await _press(app, pilot, "space", "u")
        assert not flows.marks and "mark cleared" in _toasts(app)
