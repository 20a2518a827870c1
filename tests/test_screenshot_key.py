"""The board's own screenshot key (ctrl+s) and its palette entry, driven with Pilot."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from board_support import make_app
from screenshot_support import line_with, svg_lines

from openclaw_board.board.pictures.files import save_board_screen

pytestmark = pytest.mark.anyio


def _notes(app) -> list[str]:  # noqa: ANN001
    return [str(n.message) for n in app._notifications]


async def test_ctrl_s_saves_the_screen_privately_and_says_where(demo, home: Path) -> None:
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.settled()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+s")  # the same second: a second file, not an overwrite
        await pilot.pause()
        folder = home / "screenshots"
        first, second = folder / "board-20261118T110652Z.svg", folder / "board-20261118T110652Z-2.svg"
        assert sorted(folder.iterdir()) == [second, first]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(first.stat().st_mode) == 0o600
        assert f"screenshot saved: {first}" in _notes(app) and f"screenshot saved: {second}" in _notes(app)
        lines = svg_lines(first.read_text())
        assert "6 active" in line_with(lines, "Flow pressure")
        assert "running" in line_with(lines, "fetch-globex")


async def test_the_palette_offers_our_screenshot_not_textuals(demo, home: Path) -> None:
    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.settled()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Theme" in titles and "Screenshot" not in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"save a screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        saved = list((home / "screenshots").glob("board-*.svg"))
        assert len(saved) == 1


async def test_choosing_a_theme_is_remembered(demo, home: Path) -> None:
    from openclaw_board.board.theme.theme_files import remembered_theme

    url, end = demo
    app = make_app(url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.settled()
        assert remembered_theme() is None  # starting with a theme does not count as choosing one
        app.theme = "high-contrast"  # what the palette's Theme command does
        await pilot.pause()
    assert remembered_theme() == "high-contrast"


def test_a_screenshot_directory_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        save_board_screen("<svg/>", 0, blocker / "screenshots")
