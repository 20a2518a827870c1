"""Helpers shared by the supervisor tests: a one-task flow, and waiting for what must happen."""

from __future__ import annotations

import time

from openclaw_board.ledger import Ledger, parse_spec


def one(ledger: Ledger, task: dict, goal: str = "g") -> str:
    """Submit a flow with one task labelled `t`; its task id."""
    _, ids = ledger.submit(parse_spec({"goal": goal, "tasks": [{"label": "t", **task}]}))
    return ids["t"]


def wait_for(pred, what: str, limit: float = 30.0):
    """Poll `pred` until it is truthy (not a timing assertion: `limit` is only how long we
    are willing to wait for something that must happen)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")
