"""The split view (`v`): the list and the selected row's details or log side by side, on
wide terminals; below 160 columns the key says why not. Pilot on a real SQLite ledger."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from board_support import flow_by_label, make_app, screen_text, task_by_label, until
from board_support import press as _press

from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.service.answers import Answer, Inspected
from openclaw_board.board.service.ledger_thread import Service
from openclaw_board.board.service.requests import Preview
from openclaw_board.board.widgets.detailpane import DetailPane
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.board.widgets.logview import LogView

pytestmark = pytest.mark.anyio


def _pane_text(app) -> str:
    """What the screen shows right of the list."""
    x = app.query_one(DetailPane).region.x
    return "\n".join(line[x:] for line in screen_text(app).split("\n"))


async def test_split_follows_the_cursor_and_switches_to_the_log(demo):
    url, end = demo
    task = task_by_label(url, "research", "fetch-globex")
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "output.log").write_text("globex: page 1/8\n::progress 12 page 1/8\nglobex: page 2/8\n")
    campaign = flow_by_label(url, "campaign")
    app = make_app(url, end)
    async with app.run_test(size=(200, 60)) as pilot:
        await app.settled()
        await pilot.pause()
        pane = app.query_one(DetailPane)
        assert not pane.display  # off at start
        await _press(app, pilot, "v")
        assert pane.display
        flows = app.query_one(FlowList)
        assert flows.size.width < 200 - 60  # the list gave the pane its room
        assert pane.kind == "flow" and pane.ref == flows.selected.flow.flow_id and pane.data is not None
        assert "Goal" in screen_text(app)
        assert flows.select_key(f"f:{campaign.flow_id}")
        await app.settled()
        await pilot.pause()
        assert pane.ref == campaign.flow_id
        assert "flow Send the winter campaign" in _pane_text(app)
        assert flows.select_key(f"t:{task.flow_id}:fetch-globex")
        await app.settled()
        await pilot.pause()
        assert pane.kind == "task" and pane.ref == task.task_id
        text = _pane_text(app)
        assert "task fetch-globex #1" in text and "Progress" in text
        await _press(app, pilot, "V")  # the log, control lines hidden
        await until(pilot, lambda: pane.query(LogView) and pane.query_one(LogView).total == 2, "the pane's log")
        text = _pane_text(app)
        assert "globex: page 2/8" in text and "::progress 12" not in text and "62% page 5/8" in text  # the bar instead
        # The inspector still opens over it, and closes back to the split board.
        await _press(app, pilot, "enter")
        assert isinstance(app.screen, InspectorScreen)
        await _press(app, pilot, "escape")
        assert pane.display and pane.ref == task.task_id
        await _press(app, pilot, "v")
        assert not pane.display


async def test_below_160_columns_the_key_says_why(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await app.settled()
        await pilot.pause()
        await _press(app, pilot, "v")
        assert not app.query_one(DetailPane).display
        assert any("160 columns" in n.message and "120" in n.message for n in app._notifications)


async def test_no_split_in_the_past(demo):
    """The pane reads today's details: a board of a past moment says so instead."""
    url, end = demo
    app = make_app(url, end, at=end - 6_000)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await app.settled()
        await pilot.pause()
        await _press(app, pilot, "v")
        assert not app.query_one(DetailPane).display
        assert any("shows today" in n.message for n in app._notifications)


async def test_a_split_asked_for_hides_when_narrow_and_returns_when_wide(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await app.settled()
        await pilot.pause()
        await _press(app, pilot, "v")
        pane = app.query_one(DetailPane)
        assert pane.display
        await pilot.resize_terminal(120, 40)
        await app.settled()
        await pilot.pause()
        assert not pane.display
        await _press(app, pilot, "v")  # narrow: the key says why, and the split stays asked for
        assert any("160 columns" in n.message and "wider" in n.message for n in app._notifications)
        await pilot.resize_terminal(180, 40)
        await app.settled()
        await pilot.pause()
        assert pane.display and pane.data is not None


def test_only_the_latest_preview_is_read(demo):
    """A cursor that crosses ten rows while a read runs reads the last row only."""
    url, end = demo
    tasks = [task_by_label(url, "research", label) for label in ("fetch-globex", "fetch-initech")]
    answers: list[Answer] = []
    got = threading.Event()

    def deliver(answer: Answer) -> None:
        answers.append(answer)
        got.set()

    service = Service(url, deliver, poll_s=None)
    for i in range(10):  # queued before the thread starts: as if the cursor outran the reads
        service.submit(Preview("task", tasks[i % 2].task_id))
    service.start()
    try:
        assert got.wait(10)
        for _ in range(200):
            if service.pending == 0:
                break
            threading.Event().wait(0.02)
        assert service.pending == 0
    finally:
        service.stop()
    inspected = [a for a in answers if isinstance(a, Inspected)]
    assert service.previews_read == 1 and len(inspected) == 1
    assert inspected[0].ref == tasks[1].task_id and inspected[0].data is not None


async def test_the_pane_follows_a_change_to_its_row(demo):
    """Cancel the selected queued task: the pane reads it again, once, and says cancelled."""
    url, end = demo
    publish = task_by_label(url, "release", "publish")
    app = make_app(url, end)
    async with app.run_test(size=(200, 50)) as pilot:
        await app.settled()
        await pilot.pause()
        assert app.query_one(FlowList).select_key(f"t:{publish.flow_id}:publish")
        await _press(app, pilot, "v")
        pane = app.query_one(DetailPane)
        assert pane.data["fields"]["status"] == "queued"
        reads = app.service.previews_read
        await _press(app, pilot, "c")
        await _press(app, pilot, "y")
        await until(pilot, lambda: pane.data and pane.data["fields"]["status"] == "cancelled", "the cancelled task")
        assert "Status          cancelled" in _pane_text(app)
        assert app.service.previews_read == reads + 1
