"""The board on a real OpenClaw ledger: it shows the gateway's writes live and writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from board_support import screen_text
from openclaw_fixtures import NOW, standard_ledger

from openclaw_board.board import BoardApp
from openclaw_board.board.flowlist import FlowList
from openclaw_board.ledger.clock import fixed_clock

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _goals(app: BoardApp) -> set[str]:
    return {r.flow.goal for r in app.query_one(FlowList).rows if r.kind == "flow"}


async def _until(pilot, predicate, what: str, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the board never showed {what}:\n{screen_text(pilot.app)}")


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


async def test_the_gateways_writes_appear_live(tmp_path: Path, home: Path) -> None:
    std = standard_ledger(tmp_path / "openclaw.sqlite")
    app = BoardApp(std.url, title="openclaw", theme="openclaw-dark", clock=fixed_clock(NOW))
    async with app.run_test(size=(140, 40)) as pilot:
        await app.settled()
        assert {"Nightly lead enrichment", "Weekly digest", "Refund review"} <= _goals(app)
        # The gateway, in its own connection, adds a flow with a task: no key press needed.
        flow = std.file.add_flow(goal="Written by the gateway just now", status="running")
        std.file.add_task(parent_flow_id=flow, label="fresh", status="running", started_at=NOW)
        await _until(pilot, lambda: "Written by the gateway just now" in _goals(app), "the gateway's flow")


async def test_a_full_board_session_writes_nothing_to_the_file(tmp_path: Path, home: Path) -> None:
    std = standard_ledger(tmp_path / "openclaw.sqlite")
    std.file.close()  # the gateway stops; its last checkpoint leaves the file as it will stay
    db = tmp_path / "openclaw.sqlite"
    before = _fingerprint(db)
    app = BoardApp(std.url, title="openclaw", theme="openclaw-dark", clock=fixed_clock(NOW))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        for key in ("j", "j", "space", "enter", "escape", "G", "g", "c"):
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.press("escape")
        await app.settled()
    assert _fingerprint(db) == before
