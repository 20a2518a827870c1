"""What the inspector shows, read on the service thread: fields, attempts, events, the log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...ledger.api import LedgerReads
from ...ledger.serialize import event_dict, flow_dict, task_dict


def _attempt(t: Any) -> dict[str, Any]:
    return {
        "task_id": t.task_id, "label": t.label, "attempt": t.attempt, "status": t.status,
        "created_at": t.created_at, "started_at": t.started_at, "ended_at": t.ended_at,
        "exit_code": t.exit_code, "error": t.error, "is_latest": bool(t.is_latest),
    }


def _extras(row: Any) -> dict[str, Any]:
    """An OpenClaw record's own columns (delivery status, notify policy...): every field."""
    return dict(row.extra_fields())


def _events(rows: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for e in rows:
        d = event_dict(e)
        d["at_ms"] = e.at
        out.append(d)
    return out


def task_details(ledger: LedgerReads, ref: str) -> dict[str, Any]:
    task = ledger.get_task(ref)
    fields = task_dict(task)
    fields.update({
        "cwd": task.cwd, "shell": bool(task.shell), "timeout_s": task.timeout_s,
        "retries": task.retries, "after": ledger.after_of(task), "run_dir": task.run_dir,
        "requires_approval": bool(task.requires_approval),
    })
    fields.update(_extras(task))
    flow = ledger.get_flow(task.flow_id)
    return {
        "fields": fields,
        "flow_goal": flow.goal,
        "attempts": [_attempt(t) for t in ledger.attempts_of(task)],
        "events": _events(ledger.task_events(task.task_id)),
        "run_dir": task.run_dir,
        "log_tail": task.log_tail,
        "is_latest": bool(task.is_latest),
    }


def flow_details(ledger: LedgerReads, ref: str) -> dict[str, Any]:
    flow = ledger.get_flow(ref)
    counts = ledger.task_counts([flow.flow_id]).get(flow.flow_id, {})
    fields = flow_dict(flow, counts)
    fields["spec_source"] = flow.spec_source
    fields["blocked_task_id"] = flow.blocked_task_id
    fields.update(_extras(flow))
    return {
        "fields": fields,
        "attempts": [_attempt(t) for t in ledger.flow_attempts(flow.flow_id)],
        "events": _events(ledger.flow_events(flow.flow_id)),
    }
