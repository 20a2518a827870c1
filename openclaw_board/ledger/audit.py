"""Audit findings and maintenance (repair and prune), as `audit` and `maintenance` print them.

Thresholds follow OpenClaw's `tasks audit` where it has one (LEDGER.md); `stale_running`
is measured against the owner's heartbeat lease instead of a fixed 30 minutes, because we
have heartbeats: a long healthy run is not stale, a run whose supervisor stopped
heartbeating is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .clock import iso
from .core import LedgerBase, tuples
from .db import quick_check
from .errors import LedgerUnavailable
from .flow_filter import ISSUE_FLOW
from .states import ACTIVE_TASK, TERMINAL_FLOW, TERMINAL_TASK, derive_flow_status
from .states import TaskStatus as T

STALE_QUEUED_MS = 10 * 60 * 1000
CANCEL_STUCK_MS = 60 * 1000
DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000
FAILING_FIRINGS = 3  # a schedule's last firings that all failed make a finding


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # "warn" | "error"
    flow_id: str | None
    task_id: str | None
    message: str
    repairable: bool = False

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("repairable")
        return d


# Why `maintenance` leaves a finding as it is: it repairs records, never runs. What it leaves
# is printed with these words, one line per finding.
NOT_REPAIRED: dict[str, str] = {
    "stale_running": "its supervisor is gone and only the run's host knows how it ended: "
                     "`openclaw-board supervise` there re-attaches it and records the true result",
    "cancel_stuck": "a cancel is carried out by the supervisor that owns the run: start "
                    "`openclaw-board supervise` on its host",
    "lost": "how the run ended is unknown: `openclaw-board tasks retry {task}` runs it again",
    "stale_queued": "nothing is broken: it waits for a supervisor to run it (`openclaw-board supervise`)",
    "schedule_failing": "its work fails: read its flows (`openclaw-board schedules show ID`), "
                        "fix the cause, or pause it (`openclaw-board schedules pause ID`)",
}
NOTHING_TO_CHANGE = "the repair found nothing to change"


def not_repaired(finding: Finding, reason: str | None = None) -> dict[str, Any]:
    """A finding `maintenance` leaves, with the reason (its JSON shape, plus "reason")."""
    why = reason or NOT_REPAIRED.get(finding.code, "maintenance repairs records, not runs")
    return finding.as_json() | {"reason": why.format(task=(finding.task_id or "TASK")[:8])}


class Audit(LedgerBase):
    def audit(self) -> list[Finding]:
        # Pages first: a damaged file would fail (or mislead) every check below.
        damage = quick_check(self.db)
        if damage:
            return [Finding("ledger_damaged", "error", None, None,
                            f"ledger {self.display_url} fails SQLite's quick_check ({damage}): "
                            "restore it from a backup", False)]
        now = self.now()
        lease_now = self.lease_now()  # liveness is judged on the lease clock (leases.py)
        Task, Flow = self.m.Task, self.m.Flow
        findings: list[Finding] = []
        sups = {s.supervisor_id: s for s in self.m.Supervisor.select()}
        flows = {f.flow_id: f for f in Flow.select()}
        task_ids = {r[0] for r in tuples(Task.select(Task.task_id))}

        latest_by_flow: dict[str, list[Any]] = {}
        for task in Task.select().where(Task.is_latest == True):  # noqa: E712
            latest_by_flow.setdefault(task.flow_id, []).append(task)

        for task in Task.select().where(
            Task.status.in_([T.QUEUED, T.RUNNING, T.LOST]) | Task.cancel_requested_at.is_null(False)
            | Task.parent_task_id.is_null(False) | Task.ended_at.is_null(False)
            | Task.started_at.is_null(False)
        ):
            findings.extend(self._task_findings(task, now, sups, flows, task_ids, lease_now))

        for flow in flows.values():
            latest = latest_by_flow.get(flow.flow_id, [])
            derived = derive_flow_status((t.status for t in latest), flow.cancel_requested_at is not None)
            if derived != flow.status:
                findings.append(Finding(
                    "flow_status_mismatch", "warn", flow.flow_id, None,
                    f"flow records {flow.status} but its tasks say {derived}", True))
            if flow.blocked_task_id and flow.blocked_task_id not in task_ids:
                findings.append(Finding(
                    "missing_task", "warn", flow.flow_id, flow.blocked_task_id,
                    f"flow points at task {flow.blocked_task_id[:8]}, which does not exist", True))
            if (flow.cancel_requested_at is not None and flow.status not in TERMINAL_FLOW
                    and now - flow.cancel_requested_at >= CANCEL_STUCK_MS):
                findings.append(Finding(
                    "cancel_stuck", "error", flow.flow_id, None,
                    f"flow cancel requested {_age(now - flow.cancel_requested_at)} ago "
                    "but its tasks have not settled", False))
        findings.extend(self._schedule_findings())
        return sorted(findings, key=lambda f: (f.severity != "error", f.code, f.flow_id or ""))

    def _schedule_findings(self) -> list[Finding]:
        """A schedule whose last FAILING_FIRINGS flows all ended without succeeding: nightly work
        that fails night after night is what an operator running `audit || alert` must hear of."""
        Flow = self.m.Flow
        out: list[Finding] = []
        for sched in self.m.Schedule.select():
            last = list(Flow.select(Flow.flow_id, Flow.status).where(Flow.schedule_id == sched.schedule_id)
                        .order_by(Flow.fire_at.desc()).limit(FAILING_FIRINGS))
            if len(last) == FAILING_FIRINGS and all(f.status in ISSUE_FLOW for f in last):
                out.append(Finding(
                    "schedule_failing", "error", last[0].flow_id, None,
                    f"schedule {sched.schedule_id[:8]} ({sched.goal[:40]}): its last {FAILING_FIRINGS} firings "
                    f"ended {', '.join(f.status for f in last)}", False))
        return out

    def _task_findings(self, task: Any, now: int, sups: dict[str, Any], flows: dict[str, Any],
                       task_ids: set[str], lease_now: int) -> list[Finding]:
        out: list[Finding] = []
        ref = task.task_id[:8]
        since = now - (task.last_event_at or task.started_at or task.created_at)
        if task.is_latest and task.status == T.QUEUED and since >= STALE_QUEUED_MS:
            flow = flows.get(task.flow_id)
            if flow is not None and flow.cancel_requested_at is None:
                out.append(Finding("stale_queued", "warn", task.flow_id, task.task_id,
                                   f"task {ref} ({task.label}) queued for {_age(since)}"))
        if task.status == T.RUNNING:
            owner = sups.get(task.supervisor_id or "")
            if owner is None or not self.supervisor_alive(owner, lease_now):
                beat = f"last heartbeat {_age(lease_now - owner.heartbeat_at)} ago" if owner else "no supervisor record"
                out.append(Finding(
                    "stale_running", "error", task.flow_id, task.task_id,
                    f"task {ref} ({task.label}) runs on {task.host or '?'} but its supervisor is "
                    f"gone ({beat}); start `openclaw-board supervise` there to re-attach"))
            if task.cancel_requested_at and now - task.cancel_requested_at >= CANCEL_STUCK_MS:
                out.append(Finding(
                    "cancel_stuck", "error", task.flow_id, task.task_id,
                    f"task {ref} ({task.label}) cancel requested "
                    f"{_age(now - task.cancel_requested_at)} ago and still running"))
        if task.is_latest and task.status == T.LOST:
            out.append(Finding("lost", "error", task.flow_id, task.task_id,
                               f"task {ref} ({task.label}) was lost: {task.error or 'no result'}"))
        if task.parent_task_id and task.parent_task_id not in task_ids:
            out.append(Finding("missing_task", "warn", task.flow_id, task.task_id,
                               f"task {ref} names earlier attempt {task.parent_task_id[:8]}, "
                               "which does not exist", True))
        bad = _timestamp_problem(task)
        if bad:
            out.append(Finding("inconsistent_timestamps", "warn", task.flow_id, task.task_id,
                               f"task {ref} ({task.label}): {bad}", True))
        return out

    def maintenance(self, *, apply: bool, retention_ms: int = DEFAULT_RETENTION_MS,
                    actor: str = "maintenance") -> dict[str, Any]:
        """Repair what the audit can repair and prune terminal flows past retention."""
        findings = self.audit()
        if apply and any(f.code == "ledger_damaged" for f in findings):
            raise LedgerUnavailable(f"{findings[0].message}; nothing was repaired or pruned")
        now = self.now()
        Flow, Task, Event = self.m.Flow, self.m.Task, self.m.Event
        repairs: list[dict[str, Any]] = []
        prune = list(
            Flow.select().where(Flow.status.in_(list(TERMINAL_FLOW)) & Flow.ended_at.is_null(False)
                                & (Flow.ended_at < now - retention_ms))
        )
        run_dirs: list[str] = []
        left = [not_repaired(f) for f in findings if not f.repairable]
        if not apply:
            return {"applied": False, "findings": [f.as_json() for f in findings],
                    "repairs": [asdict(f) | {"action": "would repair"} for f in findings if f.repairable],
                    "left": left, "pruned_flows": len(prune), "run_dirs": []}
        with self.atomic():
            for f in findings:
                if not f.repairable:
                    continue
                action = self._repair(f, now, actor)
                if action:
                    repairs.append({"code": f.code, "flow_id": f.flow_id, "task_id": f.task_id,
                                    "action": action})
                else:
                    left.append(not_repaired(f, NOTHING_TO_CHANGE))
            for flow in prune:
                run_dirs += [r[0] for r in tuples(Task.select(Task.run_dir).where(
                    (Task.flow == flow.flow_id) & Task.run_dir.is_null(False)))]
                Event.delete().where(Event.flow_id == flow.flow_id).execute()
                Task.delete().where(Task.flow == flow.flow_id).execute()
                Flow.delete().where(Flow.flow_id == flow.flow_id).execute()
        return {"applied": True, "findings": [f.as_json() for f in findings], "repairs": repairs,
                "left": left, "pruned_flows": len(prune), "run_dirs": run_dirs}

    def _repair(self, f: Finding, now: int, actor: str) -> str | None:
        Flow, Task = self.m.Flow, self.m.Task
        if f.code == "flow_status_mismatch" and f.flow_id:
            self._recompute_flow(f.flow_id, actor)
            return "recomputed flow status"
        if f.code == "missing_task" and f.task_id and f.flow_id:
            Flow.update(blocked_task_id=None).where(
                (Flow.flow_id == f.flow_id) & (Flow.blocked_task_id == f.task_id)).execute()
            Task.update(parent_task_id=None).where(Task.task_id == f.task_id).execute()
            return "cleared the dangling reference"
        if f.code == "inconsistent_timestamps" and f.task_id:
            task = Task.get_by_id(f.task_id)
            changes: dict[str, Any] = {}
            if task.started_at is not None and task.started_at < task.created_at:
                changes["started_at"] = task.created_at
            start = changes.get("started_at", task.started_at) or task.created_at
            if task.status in ACTIVE_TASK and task.ended_at is not None:
                changes["ended_at"] = None
            elif task.ended_at is not None and task.ended_at < start:
                changes["ended_at"] = start
            elif task.status in TERMINAL_TASK and task.ended_at is None:
                changes["ended_at"] = max(task.last_event_at or start, start)
            if changes:
                Task.update(**changes).where(Task.task_id == f.task_id).execute()
                self._event(task.flow_id, "repaired", task_id=task.task_id, actor=actor,
                            detail=f"timestamps: {', '.join(sorted(changes))}")
                return "fixed timestamps"
        return None


def _timestamp_problem(task: Any) -> str | None:
    if task.started_at is not None and task.started_at < task.created_at:
        return f"started {iso(task.started_at)} before it was created {iso(task.created_at)}"
    if task.ended_at is not None and task.status in ACTIVE_TASK:
        return f"{task.status} but has an end time {iso(task.ended_at)}"
    if task.ended_at is not None and task.ended_at < (task.started_at or task.created_at):
        return "ended before it started"
    if task.status in TERMINAL_TASK and task.ended_at is None:
        return f"{task.status} with no end time"
    return None


def _age(ms: int) -> str:
    from .durations import format_duration

    return format_duration(ms / 1000)
