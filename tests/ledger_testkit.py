"""Helpers shared by the ledger tests: a clock the test moves, specs in one line, row dumps."""

from __future__ import annotations

from typing import Any

from openclaw_board.ledger import FlowSpec, Ledger, parse_spec

T0 = 1_790_000_000_000  # a fixed start, in ms


class ManualClock:
    """Time moves only when the test says so (or by `step` ms on every read, when given)."""

    def __init__(self, start: int = T0, step: int = 0) -> None:
        self.t = start
        self.step = step

    def __call__(self) -> int:
        now = self.t
        self.t += self.step
        return now

    def advance(self, ms: int) -> int:
        self.t += ms
        return self.t


def spec(*tasks: dict[str, Any], goal: str = "test flow") -> FlowSpec:
    """A spec from task tables; `command` defaults to ["true"]."""
    return parse_spec({"goal": goal, "tasks": [{"command": ["true"], **t} for t in tasks]}, "<test>")


def dump(ledger: Ledger) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: compare before/after a refused call."""
    out: dict[str, list[tuple]] = {}
    for model in ledger.m.all():
        pk = model._meta.primary_key
        out[model._meta.table_name] = list(model.select().order_by(pk).tuples())
    return out


def run(ledger: Ledger, sid: str = "sup-1", host: str = "host-a") -> Any:
    """Claim the next task and record a process for it, as a supervisor would."""
    task = ledger.claim_next(sid, host).task
    assert task is not None, "nothing to claim"
    ledger.record_process(task.task_id, sid, 4242, 1, f"/tmp/run/{task.task_id}")
    return task


def statuses(ledger: Ledger, flow_id: str) -> dict[str, str]:
    """{label: status} of the flow's latest attempts."""
    return {t.label: t.status for t in ledger.latest_attempts(flow_id)}


def kinds(ledger: Ledger, task_id: str) -> list[str]:
    """The kinds of a task's events, oldest first."""
    return [e.kind for e in ledger.task_events(task_id)]

