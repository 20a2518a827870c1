"""What the board says is owed: the time left to approve a waiting task (from the board's
clock), and the results not yet delivered, counted in the header."""

from __future__ import annotations

import pytest
from board_support import START_MS, make_app, screen_text, until
from ledger_testkit import run

from openclaw_board.board.view.text import approval_left
from openclaw_board.ledger import Ledger, parse_spec

pytestmark = pytest.mark.anyio
MINUTE = 60_000


def test_approval_left_in_whole_minutes() -> None:
    assert approval_left(0, None, 5) is None
    assert approval_left(0, 7200, 48 * MINUTE) == "approve within 1h12m"
    assert approval_left(0, 7200, 48 * MINUTE + 59_000) == "approve within 1h11m"  # never more than is left
    assert approval_left(0, 7200, 7200_000 - 30_000) == "approve within a minute"
    assert approval_left(0, 7200, 7200_000) == "approval overdue: being denied"


async def test_a_waiting_row_shows_the_time_left_to_approve(sqlite_url: str) -> None:
    with Ledger(sqlite_url, clock=lambda: START_MS) as led:
        led.submit(parse_spec({"goal": "Send the winter campaign", "tasks": [
            {"label": "send", "command": ["true"], "requires_approval": True, "approval_timeout": "2h"},
            {"label": "plain", "command": ["true"], "requires_approval": True}]}))
    app = make_app(sqlite_url, START_MS + 48 * MINUTE)
    async with app.run_test(size=(160, 30)) as pilot:
        await app.settled()
        await pilot.pause()
        text = screen_text(app)
        send = next(x for x in text.splitlines() if "send" in x and "approve" in x)
        assert "approve within 1h12m · a approve · d deny" in send
        plain = next(x for x in text.splitlines() if "plain" in x)
        assert "needs approval: a approve · d deny" in plain


async def test_the_header_counts_undelivered_results_while_there_are_any(sqlite_url: str) -> None:
    with Ledger(sqlite_url, clock=lambda: START_MS) as led:
        led.submit(parse_spec({"goal": "report", "notify": "done_only",
                               "notify_to": ["json://127.0.0.1:9/hook", "json://127.0.0.1:9/other"],
                               "tasks": [{"label": "t", "command": ["true"]}]}))
        task = run(led)
        led.finish(task.task_id, "succeeded", supervisor_id="sup-1", exit_code=0)
        assert led.undelivered_count() == 2
    app = make_app(sqlite_url, START_MS)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.settled()
        await pilot.pause()
        assert "· 2 undelivered" in screen_text(app)
        with Ledger(sqlite_url) as led:  # both sent: a change that writes no event
            for _ in range(2):
                claimed = led.claim_delivery("w")
                assert claimed is not None and led.delivery_sent(claimed.id, "w")
        assert app.service is not None
        app.service.poke()  # a signal, not a request: settled() does not wait for it
        await until(pilot, lambda: "undelivered" not in screen_text(app), "the count gone once both were sent")
