"""Theme files that are not themes (binary, nested 5,000 deep, a FIFO, /dev/zero, huge, a
directory): each is one line naming the file and the reason, and skipped; nothing hangs,
and the board still starts with the other themes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_board.board.theme import theme_files as th

GOOD = 'primary = "#112233"\n'


def bad_files(user: Path) -> dict[str, str]:
    """Writes them into `user`; {stem: the reason expected in its error line}."""
    user.mkdir(parents=True, exist_ok=True)
    (user / "binary.toml").write_bytes(bytes(range(256)) * 8)
    (user / "deep.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    (user / "deep-inline.toml").write_text("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")
    os.mkfifo(user / "fifo.toml")
    (user / "zero.toml").symlink_to("/dev/zero")
    (user / "huge.toml").write_text(GOOD + "# " + "x" * (th.MAX_THEME_BYTES + 10) + "\n")
    (user / "dir.toml").mkdir()
    (user / "long-colour.toml").write_text(f'primary = "{"z" * 60_000}"\n')
    return {
        "binary": "not UTF-8 text", "deep": "nested too deeply", "deep-inline": "nested too deeply",
        "fifo": "not a regular file", "zero": "not a regular file", "huge": "larger than 64 KiB",
        "dir": "not a regular file", "long-colour": "bad colour 'zzzz",
    }


def test_bad_theme_files_are_one_line_each_and_skipped(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    expected = bad_files(user)
    (user / "fine.toml").write_text(GOOD)
    theme_set = th.load_themes(user)  # returns: no hang on the FIFO or /dev/zero
    assert "fine" in theme_set.themes and "openclaw-dark" in theme_set.themes
    assert len(theme_set.errors) == len(expected), theme_set.errors
    for stem, reason in expected.items():
        (line,) = [e for e in theme_set.errors if f"{user / stem}.toml:" in e]
        assert reason in line and "\n" not in line and len(line) < 400, line
        assert stem not in theme_set.themes


@pytest.mark.parametrize("stem", ["fifo", "zero", "binary", "deep"])
def test_the_watcher_reload_reports_them_too(tmp_path: Path, stem: str) -> None:
    bad_files(tmp_path / "themes")
    result = th.reload_theme_file(tmp_path / "themes" / f"{stem}.toml")
    assert isinstance(result, str) and result.startswith(f"bad theme file {tmp_path / 'themes' / stem}.toml: ")


def test_the_board_still_starts(home: Path, sqlite_url: str, tmp_path: Path) -> None:
    """A real headless board (the `screenshot` command) with every bad file in the user's
    theme directory: it renders with the default theme."""
    from openclaw_board.ledger import Ledger

    Ledger(sqlite_url).close()
    bad_files(home / "themes")
    out = tmp_path / "board.svg"
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "screenshot", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_text().startswith("<svg")


def test_the_board_app_reports_each_bad_theme_and_runs(home: Path, sqlite_url: str) -> None:
    from openclaw_board.ledger import Ledger, command_spec

    expected = bad_files(home / "themes")
    with Ledger(sqlite_url) as led:
        led.submit(command_spec("still here", ["true"]))
    asyncio.run(_board(sqlite_url, len(expected)))


async def _board(url: str, bad: int) -> None:
    from openclaw_board.board import BoardApp

    app = BoardApp(url, live=False, supervise=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert sum("bad theme file" in m for m in messages) == bad, messages
        assert app.theme == "openclaw-dark"
