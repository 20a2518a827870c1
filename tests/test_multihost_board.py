"""The board on a PostgreSQL ledger: another process's commit arrives over LISTEN/NOTIFY."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from board_support import flow_goals, until

from openclaw_board.board import BoardApp
from openclaw_board.ledger import Ledger, command_spec
from openclaw_board.ledger.notify import ChangeWatcher

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_a_commit_elsewhere_reaches_the_board_over_listen_notify(pg_url: str) -> None:
    with Ledger(pg_url) as ledger:
        ledger.submit(command_spec("already there", ["true"]))
    app = BoardApp(pg_url, title="pg", theme="openclaw-dark")
    async with app.run_test(size=(120, 30)) as pilot:
        await app.settled()
        assert isinstance(app.change_watch, ChangeWatcher)
        for _ in range(100):
            if app.change_watch.working:
                break
            await pilot.pause(0.05)
        assert app.change_watch.working, app.change_watch.error
        proc = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", pg_url, "submit", "--goal",
                               "from another host", "--", "true"], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "OPENCLAW_BOARD_HOST": "elsewhere"})
        assert proc.returncode == 0, proc.stderr
        await until(pilot, lambda: "from another host" in flow_goals(app), "the new flow")
