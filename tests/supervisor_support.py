"""Helpers shared by the supervisor tests: a one-task flow, a supervisor run to idle (here or in
a thread), and waiting for what must happen."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.supervisor import Supervisor


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


def run_idle(url: str, **kw: Any) -> Supervisor:
    """A supervisor with a short kill grace and a quick poll, run here until idle."""
    sup = Supervisor(url, kill_grace_s=0.5, poll_interval_s=0.05, **kw)
    assert sup.run(until_idle=True) == 0
    return sup


def supervisor_thread(url: str, **kw: Any) -> tuple[Supervisor, threading.Thread]:
    """The same, run until idle in a thread (join it)."""
    sup = Supervisor(url, kill_grace_s=0.5, poll_interval_s=0.05, **kw)
    thread = threading.Thread(target=sup.run, kwargs={"until_idle": True})
    thread.start()
    return sup, thread


def pid_in(path: Path) -> int:
    """The pid a command wrote to `path`, once it has."""
    return int(wait_for(lambda: path.exists() and path.read_text().strip(), f"{path.name} written"))


def runs(tmp: Path, label: str) -> int:
    """How many times the task `label` ran: the lines its command appended to tmp/count-<label>."""
    path = tmp / f"count-{label}"
    return len(path.read_text().splitlines()) if path.exists() else 0
