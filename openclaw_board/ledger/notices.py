"""Which flow status changes make a notice, and what a notice says.

A notice is queued (one `delivery` row per target) inside the transaction that changes the
flow's status, so a change that commits always has its notices, and one that rolls back has
none. Sending them is the supervisor's delivery worker (supervisor/delivery.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .clock import iso
from .notify_targets import targets_of
from .states import TERMINAL_FLOW

if TYPE_CHECKING:
    from .core import LedgerBase

NOTICE_TASK_FIELDS = ("label", "status", "attempt", "exit_code", "error", "terminal_summary")


def wants_notice(policy: str, status: str) -> bool:
    """`done_only`: when the flow ends; `state_changes`: every change of its status; `silent`: never."""
    if policy == "state_changes":
        return True
    return policy == "done_only" and status in TERMINAL_FLOW


def enqueue_notices(led: LedgerBase, flow_id: str, old: str, new: str, targets_text: str, now: int) -> None:
    flow = led.m.Flow.get_by_id(flow_id)
    Task = led.m.Task
    tasks = [{name: getattr(t, name) for name in NOTICE_TASK_FIELDS}
             for t in Task.select().where((Task.flow == flow_id) & (Task.is_latest == True))  # noqa: E712
             .order_by(Task.created_at, Task.label)]
    payload: dict[str, Any] = {
        "flow_id": flow_id, "goal": flow.goal, "label": flow.label, "status": new, "previous_status": old,
        "at": iso(now), "schedule_id": flow.schedule_id, "fire_at": iso(flow.fire_at), "tasks": tasks,
    }
    body = json.dumps(payload, ensure_ascii=False)
    kind = "done" if new in TERMINAL_FLOW else "state_change"
    for target in targets_of(targets_text):
        led.m.Delivery.insert(
            flow_id=flow_id, kind=kind, flow_status=new, target_kind=target.kind, target=target.target,
            target_shown=target.shown, payload=body, status="pending", attempts=0, next_try_at=now,
            created_at=now,
        ).execute()
