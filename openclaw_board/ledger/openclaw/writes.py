"""The write half of Ledger's API on an OpenClaw ledger: through `openclaw`, or refused.

Cancel, retry and flow cancel run the `openclaw` CLI (actions.py) and return the record
read again, with what OpenClaw answered in `external_answer`. Everything else raises
ReadOnlyLedger (an IllegalTransition: the CLI prints it as one `error:` line, exit 1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .actions import refuse, run_openclaw
from .openclaw_tables import FlowRow, TaskRow


class OpenClawWrites:
    # The reads these writes use, provided by OpenClawLedger (reader.py), the one class that
    # mixes this in.
    get_task: Callable[[str], TaskRow]
    get_flow: Callable[[str], FlowRow]
    refresh: Callable[[], object]
    latest_attempts: Callable[[str], list[TaskRow]]

    def _after_action(self, row: Any, answer: str) -> Any:
        self.refresh()
        fresh = self.get_task(row.task_id) if isinstance(row, TaskRow) else self.get_flow(row.flow_id)
        return dataclasses.replace(fresh, external_answer=answer)

    def cancel_task(self, ref: str, actor: str = "cli") -> TaskRow:
        task = self.get_task(ref)
        answer = run_openclaw(["tasks", "cancel", task.task_id], f"to cancel task {task.task_id[:8]}")
        return self._after_action(task, answer)

    def retry(self, ref: str, actor: str = "cli") -> TaskRow:
        """The newest attempt after `openclaw tasks retry` (the same task if none appeared yet)."""
        task = self.get_task(ref)
        answer = run_openclaw(["tasks", "retry", task.task_id], f"to retry task {task.task_id[:8]}")
        fresh = self._after_action(task, answer)
        newest = [t for t in self.latest_attempts(fresh.flow_id) if t.parent_task_id == task.task_id]
        return dataclasses.replace(newest[0], external_answer=answer) if newest else fresh

    def cancel_flow(self, ref: str, actor: str = "cli") -> FlowRow:
        flow = self.get_flow(ref)
        if flow.standalone:
            # Not a flow OpenClaw knows: cancelling it is cancelling its task.
            live = [t for t in self.latest_attempts(flow.flow_id) if t.raw_status in ("queued", "running")]
            candidates = live or self.latest_attempts(flow.flow_id)
            if not candidates:
                raise refuse(f"cancel flow {flow.flow_id[:8]}", "it has no task")
            target = candidates[0]
            answer = run_openclaw(["tasks", "cancel", target.task_id], f"to cancel task {target.task_id[:8]}")
        else:
            answer = run_openclaw(["tasks", "flow", "cancel", flow.flow_id], f"to cancel flow {flow.flow_id[:8]}")
        return self._after_action(flow, answer)

    # -- refused --------------------------------------------------------------------

    def approve(self, ref: str, actor: str = "cli") -> Any:
        raise refuse("approve", "OpenClaw tasks do not wait for approval")

    def deny(self, ref: str, actor: str = "cli", reason: str | None = None) -> Any:
        raise refuse("deny", "OpenClaw tasks do not wait for approval")

    def reopen(self, ref: str, actor: str = "cli") -> Any:
        raise refuse("reopen a flow", "retry its tasks with `openclaw tasks retry <id>`")

    def submit(self, spec: Any, actor: str = "cli") -> Any:
        raise refuse("submit work", "OpenClaw's gateway creates its own tasks; submit to a board ledger (sqlite:///...)")

    def claim_next(self, supervisor_id: str, host: str, **kw: Any) -> Any:
        raise refuse("run tasks", "OpenClaw's gateway runs them; do not start a supervisor on it")

    def _gateway_only(self, *args: Any, **kw: Any) -> Any:
        raise refuse("record a run", "OpenClaw's gateway owns its runs")

    record_process = report_progress = finish = mark_lost = adopt = _gateway_only
    register_supervisor = heartbeat = supervisor_stopped = _gateway_only

    def owned_by(self, supervisor_id: str) -> list[Any]:
        return []

    def cancel_requests(self, supervisor_id: str) -> list[Any]:
        return []
