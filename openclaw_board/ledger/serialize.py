"""Rows to the JSON shapes of DESIGN.md. Every `--json` output goes through here."""

from __future__ import annotations

import json
from typing import Any

from .clock import iso

# Every task field task_dict reads: `tasks list --json` selects only these (queries.stream_tasks).
TASK_DICT_FIELDS = ("task_id", "flow_id", "label", "runtime", "status", "attempt", "parent_task_id", "command_json",
                    "exit_code", "error", "progress", "progress_summary", "terminal_summary", "created_at",
                    "started_at", "ended_at", "cancel_requested_at", "supervisor_id", "host", "pid")


def task_dict(task: Any) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "flow_id": task.flow_id,
        "label": task.label,
        "runtime": task.runtime,
        "status": task.status,
        "attempt": task.attempt,
        "parent_task_id": task.parent_task_id,
        "command": json.loads(task.command_json),
        "exit_code": task.exit_code,
        "error": task.error,
        "progress": task.progress,
        "progress_summary": task.progress_summary,
        "terminal_summary": task.terminal_summary,
        "created_at": iso(task.created_at),
        "started_at": iso(task.started_at),
        "ended_at": iso(task.ended_at),
        "cancel_requested_at": iso(task.cancel_requested_at),
        "supervisor_id": task.supervisor_id,
        "host": task.host,
        "pid": task.pid,
    }


def flow_dict(flow: Any, task_counts: dict[str, int]) -> dict[str, Any]:
    return {
        "flow_id": flow.flow_id,
        "goal": flow.goal,
        "label": flow.label,
        "status": flow.status,
        "notify": flow.notify,
        "cancel_requested_at": iso(flow.cancel_requested_at),
        "created_at": iso(flow.created_at),
        "updated_at": iso(flow.updated_at),
        "ended_at": iso(flow.ended_at),
        "task_counts": dict(sorted(task_counts.items())),
    }


def event_dict(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso(event.at),
        "kind": event.kind,
        "from": event.from_status,
        "to": event.to_status,
        "actor": event.actor,
        "detail": event.detail,
        "task_id": event.task_id,
    }
