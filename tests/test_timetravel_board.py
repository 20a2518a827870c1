"""Time travel on the board: `screenshot --at`, the replay screen (`t`), and the past as the reader sees it.

The demo story (board_support.prepared_ledger) moves the weekly report flow at fixed times:
query runs from +3.25 s to +5.25 s, render from +6.75 s to +8.75 s, email until +9.75 s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from board_support import START_MS, flow_by_label, make_app, screen_text
from screenshot_support import line_with, svg_lines

from openclaw_board.board.screens.time_travel import ReplayScreen
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.ledger import Ledger
from openclaw_board.ledger.clock import iso
from openclaw_board.ledger.snapshot_ledger import SnapshotLedger

pytestmark = pytest.mark.anyio


# (moment, status of query, render, email) in the report flow
POINTS = [
    (START_MS + 4_000, "running", "queued", "queued"),
    (START_MS + 7_000, "succeeded", "running", "queued"),
    (START_MS + 12_750, "succeeded", "succeeded", "succeeded"),
]


def _status(line: str) -> str:
    for word in ("succeeded", "running", "queued", "failed"):
        if f" {word} " in f" {line} ":
            return word
    raise AssertionError(f"no status in {line!r}")


def test_screenshot_at_three_points_shows_the_statuses_of_then(demo: tuple[str, int], tmp_path: Path) -> None:
    url, end = demo
    assert end == POINTS[-1][0]
    report = flow_by_label(url, "report")
    db = url.removeprefix("sqlite:///")
    for at, *expected in POINTS:
        out = tmp_path / f"at-{at}.svg"
        proc = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", db, "screenshot", "-o", str(out),
                               "--at", iso(at), "--flow", report.flow_id, "--size", "120x14"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"screenshot: {out} (as of {iso(at)})"
        lines = svg_lines(out.read_text())
        assert f"as of {iso(at)}" in line_with(lines, "Task pressure")
        got = [_status(line_with(lines, f" {label} ")) for label in ("query", "render", "email")]
        assert got == expected, (iso(at), lines)
        flow_status = "succeeded" if expected[-1] == "succeeded" else "running"
        assert _status(line_with(lines, "Weekly pipeline report")) == flow_status


def test_the_past_reads_like_the_present_at_the_end(demo: tuple[str, int]) -> None:
    """At the ledger's last moment the rebuilt ledger answers the board's reads as the live one does."""
    url, end = demo
    with Ledger(url) as ledger:
        past = SnapshotLedger(ledger, end)
        for status in ("all", "active", "issues", "blocked"):
            for text in ("", "lead", "FETCH", "report"):
                live = ledger.board_flows(status, text, active_cap=100, terminal_limit=3)
                then = past.board_flows(status, text, active_cap=100, terminal_limit=3)
                ids = [[[f.flow_id for f in part] for part in answer[:2]] for answer in (then, live)]
                assert ids[0] == ids[1], (status, text)
                assert then[2] == live[2], (status, text)
        assert past.flow_pressure() == ledger.flow_pressure()
        assert past.task_pressure() == ledger.task_pressure()
        every = [f.flow_id for f in ledger.list_flows()]
        assert past.task_counts(every) == ledger.task_counts(every)
        assert past.events_since(0) == [] and past.last_event_id() == ledger.last_event_id()


async def test_replay_screen_steps_through_the_flow(demo: tuple[str, int]) -> None:
    url, end = demo
    report = flow_by_label(url, "report")
    app = make_app(url, end)
    async with app.run_test(size=(110, 34)) as pilot:
        await app.settled()
        assert app.query_one(FlowList).select_key(f"f:{report.flow_id}")
        await pilot.press("t")
        await app.settled()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.history is not None
        text = screen_text(app).splitlines()
        assert "event 15/15" in line_with(text, "event ")
        assert [_status(line_with(text, f"✓ {label}")) for label in ("query", "render", "email")] == ["succeeded"] * 3

        await pilot.press("g")  # the first event: the flow was submitted, no task yet
        text = screen_text(app).splitlines()
        assert "event 1/15" in line_with(text, "event ")
        assert "submitted" in line_with(text, "+0s")
        assert not any("├" in line or "└" in line for line in text)

        await pilot.press(*["right"] * 4)  # three task_added, then query claimed
        text = screen_text(app).splitlines()
        assert "claimed" in line_with(text, "event 5/15") or "claimed" in text[2]
        assert _status(line_with(text, "▶ query")) == "running"
        assert _status(line_with(text, "· render")) == "queued"
        assert screen.current_at == START_MS + 3_250

        await pilot.press("end", "left")  # the last event but one: email finished, the flow not yet
        text = screen_text(app).splitlines()
        assert _status(line_with(text, "✓ email")) == "succeeded"
        assert _status(line_with(text, "▶ Weekly pipeline report")) == "running"

        await pilot.press("escape")
        assert not isinstance(app.screen, ReplayScreen)


async def test_board_at_a_moment_is_read_only_and_replays_from_there(demo: tuple[str, int]) -> None:
    url, _end = demo
    at = POINTS[1][0]
    report = flow_by_label(url, "report")
    app = make_app(url, at, at=at)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.settled()
        await pilot.pause()
        text = screen_text(app).splitlines()
        assert f"as of {iso(at)}" in line_with(text, "Task pressure")
        assert _status(line_with(text, "▶ render")) == "running"
        assert app.readonly and not app.check_action("cancel", ())
        assert app.query_one(FlowList).select_key(f"f:{report.flow_id}")
        await pilot.press("enter")  # in the past, Enter replays the flow from that moment
        await app.settled()
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)
        assert app.screen.current_at is not None and app.screen.current_at <= at
        text = screen_text(app).splitlines()
        assert _status(line_with(text, "▶ render")) == "running"
        await pilot.press("right")
        assert app.screen.current_at > at  # and it can step on past it, to what happened next
