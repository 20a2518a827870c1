"""The board live: commits by other processes, the embedded supervisor, a vanishing ledger, bad data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from board_support import flow_goals, screen_text, until

from openclaw_board.board import BoardApp
from openclaw_board.board.service.answers import Inspected, Loaded, Trouble
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.ledger import Ledger, command_spec

pytestmark = pytest.mark.anyio


async def test_a_commit_by_another_process_appears_without_a_key(sqlite_url):
    with Ledger(sqlite_url) as ledger:
        ledger.submit(command_spec("already there", ["true"]))
    app = BoardApp(sqlite_url, title="live", theme="openclaw-dark")
    async with app.run_test(size=(120, 30)) as pilot:
        await app.settled()
        assert flow_goals(app) == {"already there"}
        proc = subprocess.run(
            [sys.executable, "-m", "openclaw_board", "--db", sqlite_url, "submit", "--goal",
             "submitted elsewhere", "--", "true"],
            capture_output=True, text=True, timeout=60, env=os.environ.copy(),
        )
        assert proc.returncode == 0, proc.stderr
        await until(pilot, lambda: "submitted elsewhere" in flow_goals(app), "the new flow")
        await until(pilot, lambda: "2 total" in screen_text(app), "the new pressure line")


async def test_embedded_supervisor_runs_work_and_quitting_leaves_it_detached(sqlite_url, tmp_path):
    marker = tmp_path / "ran"
    with Ledger(sqlite_url) as ledger:
        ledger.submit(command_spec("quick", [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]))
        ledger.submit(command_spec("slow", ["sleep", "30"]))  # still running at `q`, however loaded the machine
    app = BoardApp(sqlite_url, title="live", theme="openclaw-dark", supervise=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.settled()

        def status(goal: str) -> str | None:
            return next((r.flow.status for r in app.query_one(FlowList).rows
                         if r.kind == "flow" and r.flow.goal == goal), None)

        await until(pilot, lambda: status("quick") == "succeeded", "quick succeeded")
        await until(pilot, lambda: status("slow") == "running", "slow running")
        assert "supervisor: embedded" in screen_text(app)
        await pilot.press("q")
    assert marker.exists()
    assert app.return_value == 1  # `slow` left running, detached


async def test_a_vanished_ledger_shows_a_banner_and_recovers(sqlite_url, home):
    with Ledger(sqlite_url) as ledger:
        ledger.submit(command_spec("before", ["true"]))
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    app = BoardApp(sqlite_url, title="live", theme="openclaw-dark")
    async with app.run_test(size=(120, 30)) as pilot:
        await app.settled()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        banner = app.query_one("#banner")
        await until(pilot, lambda: banner.display, "a banner")
        # Usually "ledger file ... is gone"; SQLite may first report the I/O error it met.
        assert str(banner.render()).startswith("⚠ ")
        with Ledger(sqlite_url) as ledger:
            ledger.submit(command_spec("after", ["true"]))
        await until(pilot, lambda: not banner.display and flow_goals(app) == {"after"}, "recovery")


async def test_bad_data_renders_literally(sqlite_url):
    goal = "[bold red]not markup[/] \x1b[2J\x1b[31mred? \x07 " + "very long " * 40
    with Ledger(sqlite_url) as ledger:
        fid, tasks = ledger.submit(command_spec(goal, ["true"], label="[link=x]l[/link]"))
        task = ledger.claim_next("s" * 36, "h").task
        ledger.report_progress(task.task_id, "s" * 36, progress=50, summary="::summary \x1b]0;title\x07 [i]x[/i]")
    app = BoardApp(sqlite_url, title="live", theme="openclaw-dark", live=False)
    async with app.run_test(size=(160, 30)) as pilot:
        await app.settled()
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]not markup[/] ␛[2J␛[31mred? \\x07" in text
        assert "[link=x]l[/link]" in text
        assert "␛]0;title\\x07 [i]x[/i]" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_what_arrives_as_the_board_closes_is_dropped_quietly(sqlite_url, home):
    """Answers, resizes and moves queued before the board closed are delivered while Textual
    removes its widgets (CI met a resize there); each must end quietly, not crash the exit."""
    with Ledger(sqlite_url) as ledger:
        ledger.submit(command_spec("before", ["true"]))
    app = BoardApp(sqlite_url, title="live", theme="openclaw-dark", live=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await app.settled()
        await pilot.press("v")  # the split view on, so that a resize would place its pane
        board = app.board
        assert board is not None and not app.closing
    assert app.closing and not app.query(FlowList)
    late = [
        lambda: app.post_message(FlowList.Resized()),
        lambda: app._list_resized(),
        lambda: app._marks_changed(),
        lambda: app._moved(),
        lambda: app._tick(),
        lambda: app.place_split(),
        lambda: app._loaded_board(Loaded(board, 0)),
        lambda: app._trouble(Trouble("ledger file is gone")),
        lambda: app._inspected(Inspected("flow", "x", None, "gone")),
        lambda: app._supervisor_started("s" * 36),
        lambda: app._supervisor_failed("why"),
    ]
    for deliver in late:
        deliver()
