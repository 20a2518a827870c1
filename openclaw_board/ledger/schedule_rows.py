"""A schedule as its readers show it (`schedules list/show --json`, the board's schedules
screen): its row, what its cron expression means, and how its last flow ended."""

from __future__ import annotations

from typing import Any

from .clock import iso
from .schedule_spec import describe


def last_outcome(ledger: Any, row: Any) -> str | None:
    """The status of the schedule's last flow (None before its first firing, or when that flow
    was pruned)."""
    if not row.last_flow_id:
        return None
    flow = ledger.m.Flow.get_or_none(ledger.m.Flow.flow_id == row.last_flow_id)
    return flow.status if flow is not None else None


def schedule_dict(ledger: Any, row: Any) -> dict[str, Any]:
    """A schedule as `schedules list --json` has it (DESIGN.md), plus how its last flow ended."""
    return {
        "schedule_id": row.schedule_id, "goal": row.goal, "label": row.label, "cron": row.cron,
        "description": describe(row.cron), "timezone": row.timezone, "missed": row.missed, "overlap": row.overlap,
        "jitter_s": row.jitter_s, "paused": row.paused, "next_fire_at": None if row.paused else iso(row.next_fire_at),
        "last_fire_at": iso(row.last_fire_at), "last_flow_id": row.last_flow_id,
        "last_outcome": last_outcome(ledger, row), "pending_fire_at": iso(row.pending_fire_at),
        "created_at": iso(row.created_at),
    }
