"""The schedules screen (`C`): each schedule's reading, next firing, last outcome and pause;
pause, resume and run now through the ledger's own calls, asking first with No focused."""

from __future__ import annotations

import pytest
from board_support import make_app, screen_text
from pulse_support import two_schedules

from openclaw_board.board.screens.dialogs import ConfirmScreen
from openclaw_board.board.screens.schedules import SchedulesScreen
from openclaw_board.ledger import Ledger

pytestmark = pytest.mark.anyio


async def _press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await app.settled()
        await pilot.pause()
    await app.settled()
    await pilot.pause()


async def _open(app, pilot) -> SchedulesScreen:
    await app.settled()
    await _press(app, pilot, "C")
    assert isinstance(app.screen, SchedulesScreen)
    return app.screen


async def _select(app, pilot, screen: SchedulesScreen, schedule_id: str) -> None:
    """Move to the schedule with the keys (k to the top, then j)."""
    await _press(app, pilot, "k", "k")
    for _ in range(3):
        if screen.selected is not None and screen.selected.schedule_id == schedule_id:
            return
        await _press(app, pilot, "j")
    raise AssertionError(f"no schedule {schedule_id} on the screen")


def _paused(url: str, schedule_id: str) -> bool:
    with Ledger(url) as led:
        return bool(led.get_schedule(schedule_id).paused)


async def test_the_schedules_screen_lists_what_each_schedule_does(sqlite_url: str) -> None:
    now, nightly, hourly = two_schedules(sqlite_url)
    app = make_app(sqlite_url, now)
    async with app.run_test(size=(160, 30)) as pilot:
        await _open(app, pilot)
        text = screen_text(app)
        assert "2 schedules" in text
        line = next(x for x in text.splitlines() if "nightly-leads" in x)
        assert "0 2 * * * UTC" in line and "At 02:00 AM" in line and "failed, 2m ago" in line and "in " in line
        paused = next(x for x in text.splitlines() if "Hourly report" in x)
        assert "15 * * * * Europe/Paris" in paused and "paused" in paused and "never fired" in paused
        await _press(app, pilot, "escape")
        assert not isinstance(app.screen, SchedulesScreen)
        await _press(app, pilot, "C", "q")
        assert not isinstance(app.screen, SchedulesScreen) and app.is_running


async def test_pause_asks_naming_the_schedule_with_no_focused_then_resume(sqlite_url: str) -> None:
    now, nightly, hourly = two_schedules(sqlite_url)
    app = make_app(sqlite_url, now)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open(app, pilot)
        await _select(app, pilot, screen, nightly)
        await _press(app, pilot, "p")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen) and "nightly-leads" in dialog.title_text
        assert app.focused is not None and app.focused.id == "no"
        await _press(app, pilot, "enter")  # Enter on the focused No
        assert not _paused(sqlite_url, nightly)
        await _press(app, pilot, "p", "y")
        assert _paused(sqlite_url, nightly)
        assert "paused" in next(x for x in screen_text(app).splitlines() if "nightly-leads" in x)
        await _press(app, pilot, "p")  # already paused: says so, asks nothing
        assert isinstance(app.screen, SchedulesScreen)
        await _press(app, pilot, "u")  # resume needs no confirmation: it starts nothing now
        assert not _paused(sqlite_url, nightly)
        await _select(app, pilot, screen, hourly)
        await _press(app, pilot, "u")
        assert not _paused(sqlite_url, hourly)


async def test_run_now_asks_then_makes_a_flow_of_the_schedule(sqlite_url: str) -> None:
    now, nightly, _ = two_schedules(sqlite_url)
    app = make_app(sqlite_url, now)
    async with app.run_test(size=(120, 30)) as pilot:
        await _select(app, pilot, await _open(app, pilot), nightly)
        with Ledger(sqlite_url) as led:
            before = len(led.schedule_flows(nightly))
        await _press(app, pilot, "r")
        assert isinstance(app.screen, ConfirmScreen) and "Run “nightly-leads” now?" == app.screen.title_text
        await _press(app, pilot, "n")
        with Ledger(sqlite_url) as led:
            assert len(led.schedule_flows(nightly)) == before
        await _press(app, pilot, "r", "y")
        with Ledger(sqlite_url) as led:
            flows = led.schedule_flows(nightly)
            assert len(flows) == before + 1 and flows[0].status == "queued"
            assert [e.actor for e in led.schedule_events(nightly)][-1] == "board"


async def test_a_read_only_board_shows_schedules_and_refuses_to_change_them(sqlite_url: str) -> None:
    now, nightly, _ = two_schedules(sqlite_url)
    app = make_app(sqlite_url, now, readonly=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await _select(app, pilot, await _open(app, pilot), nightly)
        await _press(app, pilot, "p")
        assert isinstance(app.screen, SchedulesScreen)
        assert not _paused(sqlite_url, nightly)


def test_when_a_firing_is_said_briefly() -> None:
    from board_support import START_MS  # 2026-11-18 ~09:46 UTC

    from openclaw_board.board.view.schedules import when

    hour = 3_600_000
    assert when(None, START_MS) == "-"
    assert when(START_MS - 120_000, START_MS) == "2m ago"
    assert when(START_MS + 10 * 60_000, START_MS).startswith("in 10m (") and "-" not in when(
        START_MS + 10 * 60_000, START_MS)
    assert when(START_MS + 27 * hour, START_MS).startswith("in 1d3h (11-19 ")
