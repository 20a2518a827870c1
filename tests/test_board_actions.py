"""Pilot-driven tests of the board's keys and actions, against a real SQLite ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from board_support import flow_by_label, make_app, screen_text, task_by_label
from board_support import press as _press
from board_support import select as _select
from board_support import settle as _start

from openclaw_board.board.screens.dialogs import ConfirmScreen, HelpScreen
from openclaw_board.board.screens.inspector import InspectorScreen
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.ledger import Ledger

pytestmark = pytest.mark.anyio


async def test_header_rows_and_navigation(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        text = screen_text(app)
        assert "Flow pressure: 6 active · 1 blocked · 0 cancel-requested · 9 total" in text
        assert "Task pressure: 5 queued · 6 running · 1 issue " in text
        assert "supervisor: external on demo-host ♥ now" in text  # the demo story's supervisor
        flows = app.query_one(FlowList)
        assert flows.selected.kind == "flow" and flows.selected.flow.status == "running"
        await _press(app, pilot, "j")
        assert flows.cursor == 1 and flows.selected.kind == "task"
        await _press(app, pilot, "k")
        assert flows.cursor == 0
        await _press(app, pilot, "G")
        assert flows.cursor == len(flows.rows) - 1
        await _press(app, pilot, "g")
        assert flows.cursor == 0
        # e collapses the selected flow, and again expands it; the cursor stays on it.
        first = flows.selected.key
        before = len(flows.rows)
        await _press(app, pilot, "e")
        assert len(flows.rows) < before and flows.selected.key == first and not flows.selected.expanded
        await _press(app, pilot, "e")
        assert len(flows.rows) == before and flows.selected.expanded
        # ← on a task closes its flow and moves to it; → opens it again; → on an open flow stays.
        await _press(app, pilot, "j", "left")
        assert len(flows.rows) < before and flows.selected.key == first
        await _press(app, pilot, "right")
        assert len(flows.rows) == before and flows.selected.key == first
        await _press(app, pilot, "right")
        assert len(flows.rows) == before and flows.selected.expanded


async def test_cancel_asks_first_and_no_changes_nothing(demo):
    url, end = demo
    flow = flow_by_label(url, "leads")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"f:{flow.flow_id}")
        await _press(app, pilot, "c")
        assert isinstance(app.screen, ConfirmScreen)
        body = screen_text(app)
        assert "Cancel flow 'Lead enrichment: October webinar signups'?" in body
        assert "stop 3 running tasks" in body
        await _press(app, pilot, "n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert flow_by_label(url, "leads").cancel_requested_at is None
        await _press(app, pilot, "c")
        await _press(app, pilot, "y")
        assert flow_by_label(url, "leads").cancel_requested_at is not None
        assert "cancel requested for flow" in " ".join(str(n.message) for n in app._notifications)


async def test_cancel_a_queued_task_with_the_button(demo):
    url, end = demo
    task = task_by_label(url, "release", "publish")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{task.flow_id}:publish")
        await _press(app, pilot, "c")
        assert "Task publish" in screen_text(app) and "cancel it (queued)" in screen_text(app)
        await pilot.click("#yes")
        await app.settled()
        await pilot.pause()
    assert task_by_label(url, "release", "publish").status == "cancelled"


async def test_approve_deny_retry_reopen(demo):
    url, end = demo
    send = task_by_label(url, "campaign", "send")
    review = task_by_label(url, "release", "review")
    export = task_by_label(url, "billing", "export")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{send.flow_id}:send")
        await _press(app, pilot, "a", "y")
        assert task_by_label(url, "campaign", "send").status == "queued"
        # The row moved on the board (approved), and the cursor stayed on the same task.
        assert app.query_one(FlowList).selected.key == f"t:{send.flow_id}:send"
        assert app.query_one(FlowList).selected.task.status == "queued"
        _select(app, f"t:{review.flow_id}:review")
        await _press(app, pilot, "d", "y")
        assert task_by_label(url, "release", "review").status == "cancelled"
        # Retry the blocked export (its flow is collapsed: open it first).
        _select(app, f"f:{export.flow_id}")
        await _press(app, pilot, "e")
        await _press(app, pilot, "j")
        assert app.query_one(FlowList).selected.key == f"t:{export.flow_id}:export"
        await _press(app, pilot, "r", "y")
        retried = task_by_label(url, "billing", "export")
        assert retried.attempt == 2 and retried.status == "queued"
    # Reopen: block it again, then reopen the flow from the board.
    with Ledger(url) as ledger:
        claimed = ledger.claim_next("s" * 36, "h").task
        while claimed is not None and claimed.task_id != retried.task_id:
            claimed = ledger.claim_next("s" * 36, "h").task
        ledger.finish(retried.task_id, "blocked", supervisor_id="s" * 36, exit_code=75)
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"f:{export.flow_id}")
        await _press(app, pilot, "o", "y")
    assert flow_by_label(url, "billing").status == "queued"
    assert task_by_label(url, "billing", "export").attempt == 3


async def test_refused_action_shows_the_ledgers_reason(demo):
    url, end = demo
    send = task_by_label(url, "campaign", "send")
    app = make_app(url, end)  # live=False: the board does not learn of the change below
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        with Ledger(url) as other:
            other.approve(send.task_id)
        _select(app, f"t:{send.flow_id}:send")
        await _press(app, pilot, "a", "y")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "not awaiting_approval: nothing to approve" in errors[-1].message
        assert app.is_running  # no traceback, still up


async def test_actions_that_do_not_apply_are_hidden_and_refused(demo):
    url, end = demo
    running = task_by_label(url, "kb", "reindex")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{running.flow_id}:reindex")
        await pilot.pause()
        assert app.check_action("retry", ()) is False
        assert app.check_action("approve", ()) is False
        assert app.check_action("cancel", ()) is True
        footer = screen_text(app).splitlines()[-1]
        assert "Cancel" in footer and "Retry" not in footer and "Approve" not in footer
        app.action_retry()  # e.g. from a stale palette entry
        await pilot.pause()
        assert "nothing to retry: running" in app._notifications.__iter__().__next__().message
    assert task_by_label(url, "kb", "reindex").attempt == 1


async def test_readonly_hides_and_refuses_everything(demo):
    url, end = demo
    send = task_by_label(url, "campaign", "send")
    app = make_app(url, end, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{send.flow_id}:send")
        await _press(app, pilot, "a", "c", "d")
        assert not isinstance(app.screen, ConfirmScreen)
        footer = screen_text(app).splitlines()[-1]
        for word in ("Cancel", "Approve", "Deny", "Retry", "Reopen"):
            assert word not in footer
        assert "read-only" in screen_text(app)
        app.action_approve()
        await pilot.pause()
        assert any("read-only" in n.message for n in app._notifications)
    assert task_by_label(url, "campaign", "send").status == "awaiting_approval"


async def test_filter_text_and_status_shortcuts(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)

        def goals():
            return {r.flow.goal for r in flows.rows if r.kind == "flow"}

        assert len(goals()) == 9
        await _press(app, pilot, "slash", *"lead", "enter")
        assert goals() == {"Lead enrichment: October webinar signups"}
        await _press(app, pilot, "escape")
        assert len(goals()) == 9
        await _press(app, pilot, "slash", *"summarize", "enter")  # a task label finds its flow
        assert goals() == {"Batch research: competitor pricing pages"}
        await _press(app, pilot, "escape", "3")
        assert goals() == {"Migrate billing export to the new API"}
        await _press(app, pilot, "4")
        assert goals() == {"Migrate billing export to the new API"}
        await _press(app, pilot, "2")
        assert len(goals()) == 6
        await _press(app, pilot, "1")
        assert len(goals()) == 9


async def test_sort_cycles_and_keeps_the_cursor(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)
        await _press(app, pilot, "j", "j")
        key = flows.selected.key
        await _press(app, pilot, "s")
        assert app.spec.sort == "updated" and flows.selected.key == key
        await _press(app, pilot, "s", "s")
        assert app.spec.sort == "goal"
        first_goals = [r.flow.goal for r in flows.rows if r.kind == "flow"]
        assert first_goals == sorted(first_goals, key=str.casefold)
        await _press(app, pilot, *"s" * 6)  # runtime, try, elapsed, progress, detail, and round
        assert app.spec.sort == "status" and not app.spec.reverse


async def test_help_and_quit(demo):
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(100, 40)) as pilot:
        await _start(app, pilot)
        await _press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "command palette" in screen_text(app)
        await _press(app, pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)
        await _press(app, pilot, "q")
    assert app.return_value == 0


async def test_inspector_fields_events_attempts_and_log(demo, tmp_path):
    url, end = demo
    task = task_by_label(url, "research", "fetch-globex")
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True)
    lines = [f"line {i} of the output" for i in range(500)] + ["the needle is here", "[bold]not bold[/bold]"]
    (run_dir / "output.log").write_bytes("\n".join(lines).encode() + b"\n\xff\xfe broken utf-8\n")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{task.flow_id}:fetch-globex")
        await _press(app, pilot, "enter")
        assert isinstance(app.screen, InspectorScreen)
        text = screen_text(app)
        assert "task fetch-globex #1" in text and "Doing" in text and "page 5/8" in text
        await _press(app, pilot, "2")
        assert "claimed" in screen_text(app) and "queued → running" in screen_text(app)
        await _press(app, pilot, "3")
        assert task.task_id[:8] in screen_text(app)
        await _press(app, pilot, "4")
        await pilot.pause(0.2)
        await app.settled()
        log = app.screen.query_one("LogView")
        assert log.total == 503
        text = screen_text(app)
        assert "[bold]not bold[/bold]" in text and "� broken utf-8" in text  # literal, replaced
        await _press(app, pilot, "p")
        assert not log.following
        await _press(app, pilot, "slash", *"needle", "enter")
        await pilot.pause(0.2)
        assert log.match_line == 500
        await _press(app, pilot, "escape")
        assert not isinstance(app.screen, InspectorScreen)
        # l opens the same inspector on the log tab.
        await _press(app, pilot, "l")
        assert isinstance(app.screen, InspectorScreen) and app.screen.first_tab == "log"


async def test_inspector_acts_on_the_inspected_flow(demo):
    url, end = demo
    flow = flow_by_label(url, "campaign")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"f:{flow.flow_id}")
        await _press(app, pilot, "enter")
        assert isinstance(app.screen, InspectorScreen) and "flow Send the winter campaign" in screen_text(app)
        await _press(app, pilot, "c")
        assert isinstance(app.screen, ConfirmScreen)
        await _press(app, pilot, "y")
    assert flow_by_label(url, "campaign").status == "cancelled"


async def test_command_palette_runs_actions(demo):
    url, end = demo
    send = task_by_label(url, "campaign", "send")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start(app, pilot)
        _select(app, f"t:{send.flow_id}:send")
        await _press(app, pilot, "ctrl+p")
        await _press(app, pilot, *"approve the")
        await pilot.pause(0.3)
        await _press(app, pilot, "enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmScreen)  # the palette asks first too
        await _press(app, pilot, "y")
        await app.settled()
    assert task_by_label(url, "campaign", "send").status == "queued"


async def test_older_flows_are_paged(sqlite_url):
    from openclaw_board.ledger import command_spec

    with Ledger(sqlite_url) as ledger:
        for i in range(7):
            fid, _ = ledger.submit(command_spec(f"old flow {i}", ["true"]))
            ledger.cancel_flow(fid)
    app = make_app(sqlite_url, 1_900_000_000_000, page_size=3)
    async with app.run_test(size=(100, 30)) as pilot:
        await _start(app, pilot)
        flows = app.query_one(FlowList)
        assert [r.kind for r in flows.rows] == ["flow"] * 3 + ["more"]
        assert flows.rows[-1].more == 4
        await _press(app, pilot, "G", "enter")
        assert [r.kind for r in flows.rows] == ["flow"] * 6 + ["more"]
        await _press(app, pilot, "m")
        assert [r.kind for r in flows.rows] == ["flow"] * 7
