"""Helpers for the board tests: a prepared demo ledger at fixed times, and screen text."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from openclaw_board.board import BoardApp
from openclaw_board.board.demo_data import play_script
from openclaw_board.ledger import Ledger
from openclaw_board.ledger.clock import fixed_clock

START_MS = 1_795_000_000_000  # 2026-11-18, a fixed moment so that every elapsed time is the same


def seeded_ids(monkeypatch: pytest.MonkeyPatch, seed: int = 4) -> None:
    """Ids from a seeded generator: the inspector shows ids, snapshots must not change."""
    rng = random.Random(seed)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=rng.getrandbits(128), version=4))


def prepared_ledger(url: str, workdir: Path) -> int:
    """The demo flows, moved through the Ledger API to a fixed moment; returns that moment."""
    with Ledger(url) as ledger:
        return play_script(ledger, workdir, START_MS)


def make_app(url: str, end_ms: int, **kw) -> BoardApp:
    kw.setdefault("title", "demo")
    kw.setdefault("theme", "openclaw-dark")
    return BoardApp(url, clock=fixed_clock(end_ms), live=kw.pop("live", False), **kw)


def screen_text(app: BoardApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def task_by_label(url: str, flow_label: str, label: str):
    with Ledger(url) as ledger:
        flow = next(f for f in ledger.list_flows() if f.label == flow_label)
        return next(t for t in ledger.latest_attempts(flow.flow_id) if t.label == label)


def flow_by_label(url: str, flow_label: str):
    with Ledger(url) as ledger:
        return next(f for f in ledger.list_flows() if f.label == flow_label)


def flow_goals(app: BoardApp) -> set[str]:
    """The goals of the flows the board lists right now."""
    from openclaw_board.board.widgets.flowlist import FlowList

    return {r.flow.goal for r in app.query_one(FlowList).rows if r.kind == "flow"}


async def until(pilot, predicate, what: str, seconds: float = 15.0) -> None:
    """Let the board run (no key presses) until `predicate()`; fail naming `what`."""
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the board never showed {what}:\n{screen_text(pilot.app)}")


async def settle(app: BoardApp, pilot) -> None:
    """Let the board finish what it was asked (reads, redraws) before the test looks."""
    await app.settled()
    await pilot.pause()


async def press(app: BoardApp, pilot, *keys: str) -> None:
    """Press each key in turn, letting the board settle after each (as a person types)."""
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


def select(app: BoardApp, key: str) -> None:
    """Put the cursor on the row with this key (`f:FLOW`, `t:FLOW:LABEL`)."""
    from openclaw_board.board.widgets.flowlist import FlowList

    assert app.query_one(FlowList).select_key(key), key
