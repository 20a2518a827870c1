"""The board on a real OpenClaw ledger: it shows the gateway's writes live and writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from board_support import flow_goals, screen_text, until
from openclaw_fixtures import NOW, standard_ledger

from openclaw_board.board import BoardApp
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.ledger.clock import fixed_clock

pytestmark = pytest.mark.anyio


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


async def test_the_gateways_writes_appear_live(tmp_path: Path, home: Path) -> None:
    std = standard_ledger(tmp_path / "openclaw.sqlite")
    app = BoardApp(std.url, title="openclaw", theme="openclaw-dark", clock=fixed_clock(NOW))
    async with app.run_test(size=(140, 40)) as pilot:
        await app.settled()
        assert {"Nightly lead enrichment", "Weekly digest", "Refund review"} <= flow_goals(app)
        # The gateway, in its own connection, adds a flow with a task: no key press needed.
        flow = std.file.add_flow(goal="Written by the gateway just now", status="running")
        std.file.add_task(parent_flow_id=flow, label="fresh", status="running", started_at=NOW)
        await until(pilot, lambda: "Written by the gateway just now" in flow_goals(app), "the gateway's flow")


async def test_a_full_board_session_writes_nothing_to_the_file(tmp_path: Path, home: Path) -> None:
    std = standard_ledger(tmp_path / "openclaw.sqlite")
    std.file.close()  # the gateway stops; its last checkpoint leaves the file as it will stay
    db = tmp_path / "openclaw.sqlite"
    before = _fingerprint(db)
    app = BoardApp(std.url, title="openclaw", theme="openclaw-dark", clock=fixed_clock(NOW))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        for key in ("j", "j", "e", "enter", "escape", "G", "g", "c"):
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.press("escape")
        await app.settled()
    assert _fingerprint(db) == before


async def test_side_by_side_each_row_says_where_it_comes_from(tmp_path: Path, sqlite_url: str) -> None:
    from openclaw_board.ledger import Ledger, command_spec

    std = standard_ledger(tmp_path / "openclaw.sqlite")
    with Ledger(sqlite_url) as ours:
        ours.submit(command_spec("Our own nightly job", ["sleep", "60"]))
    app = BoardApp((sqlite_url, std.url), title="both", theme="openclaw-dark", live=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await app.settled()
        flows = {r.flow.goal: r.flow.source for r in app.query_one(FlowList).rows if r.kind == "flow"}
        assert flows["Our own nightly job"] == "board"
        assert flows["Nightly lead enrichment"] == "openclaw"
        assert "[openclaw] Nightly lead enrichment" in screen_text(app)
        # A commit to either ledger shows up without a key press.
        with Ledger(sqlite_url) as ours:
            ours.submit(command_spec("Submitted while watching", ["true"]))
        std.file.add_flow(goal="Gateway flow while watching", status="queued")
        await until(pilot, lambda: {"Submitted while watching", "Gateway flow while watching"} <= flow_goals(app),
                     "both new flows")


def test_cli_refuses_two_ledgers_outside_the_board(tmp_path: Path, sqlite_url: str, home: Path) -> None:
    import os
    import subprocess
    import sys

    std = standard_ledger(tmp_path / "openclaw.sqlite")
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", sqlite_url, "--db", std.url,
                           "tasks", "list"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "OPENCLAW_BOARD_HOME": str(home)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "board" in proc.stderr
