"""Leases: the one clock they are judged by, expiring other hosts' supervisors, late results.

One clock. A lease is judged by comparing a heartbeat with "now". If each host used its own
wall clock, a host whose clock runs 20 s ahead would see every healthy host 20 s silent and
declare it dead, again and again. So heartbeats are written and leases judged on ONE
clock, `lease_now` (on the ledger's base, core.py): on PostgreSQL the database server's
(`clock_timestamp()`), on SQLite the machine's (every process that shares a SQLite file
shares its clock). A ledger opened with an explicit clock (tests, screenshots) judges
leases by that clock. `lease_now` and
`lease_expired` are the only definitions: expiry, adoption, `--until-idle` and the audit all
go through them. (Other timestamps, of what happened, are still each process's own clock.)

Expiry (`expire_leases`). Every live supervisor, every few seconds, declares dead the
supervisors on OTHER hosts whose heartbeat is older than their lease, and settles their
running tasks. Never while the owner heartbeats: the row is changed only if its heartbeat is
still older than its lease when the update runs, and a declared-dead supervisor's heartbeat
returns False and its writes are refused (fencing, see Runs._check_fence). A host with a
live supervisor of its own is left alone: there, process-based recovery decides.

Results that arrive late. A host judged dead may not be: a supervisor stalled past its lease
(SIGSTOP, a long pause) has its runs judged while their wrappers run on and leave exit files.
Two rules keep the record true:
1. Before declaring a run lost, the judge looks for its exit file where it can see it (the
   `known_result` callback: the same machine, or a run directory on shared storage). A run
   whose result is on disk is finished with that result, never called lost.
2. A result found on disk later, for an attempt already marked lost, is recorded, not thrown
   away (`record_late_result`). The lost attempt keeps its status (terminal statuses never
   change) and gets its real exit code and a `late_result` event. If the automatic retry the
   loss caused has not started, and the real outcome would not have been retried (succeeded,
   blocked, cancelled), that retry is withdrawn: settled with the real outcome, with no start
   time, no exit code of its own, and a `withdrawn` event saying that it never ran and whose
   result it carries. The flow's status then follows the true outcome and nothing runs twice.
   A retry that already started, or that the real outcome would have caused anyway (failed,
   timed out), is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import peewee as pw

from .core import LedgerBase
from .errors import IllegalTransition
from .models import TaskModel
from .notify import SUPERVISOR
from .settle import settle
from .states import RETRYABLE_TASK
from .states import TaskStatus as T

# How far back a supervisor looks for late results of lost attempts on its host.
LATE_RESULT_WINDOW_MS = 24 * 3600 * 1000


class RunResult(Protocol):
    """What a finished run's exit file says (supervisor/outcome.py's Outcome is one)."""

    status: str
    exit_code: int | None
    error: str | None
    summary: str | None


KnownResult = Callable[[Any], "RunResult | None"]


class Expired(NamedTuple):
    supervisor: Any
    lost: list[str]  # task ids marked lost
    finished: list[str]  # task ids whose result the judge found on disk


class Leases(LedgerBase):
    def owned_by(self, supervisor_id: str) -> list[TaskModel]:
        """The running tasks a supervisor owns."""
        Task = self.m.Task
        return list(Task.select().where((Task.status == T.RUNNING) & (Task.supervisor_id == supervisor_id)))

    # -- expiry -------------------------------------------------------------------------------

    def expire_leases(self, host: str, actor: str = "system",
                      known_result: KnownResult | None = None) -> list[Expired]:
        """Declare dead the supervisors on OTHER hosts whose lease ran out, and settle their
        running tasks: finished with the result `known_result(task)` finds on disk, else lost
        (the ledger retries them where their spec allows). `host` is the caller's."""
        S, Task = self.m.Supervisor, self.m.Task
        now = self.lease_now()
        rows = list(S.select().where(S.stopped_at.is_null()))
        live_hosts = {s.host for s in rows if not self.lease_expired(s, now)} | {host}
        done: list[Expired] = []
        for sup in (s for s in rows if s.host not in live_hosts):
            silent_s = (now - sup.heartbeat_at) / 1000
            reason = (f"owner supervisor {sup.supervisor_id[:8]} on host {sup.host} missed its lease "
                      f"(no heartbeat for {silent_s:.1f} s, lease {sup.lease_ms / 1000:g} s)")
            with self.atomic():
                n = S.update(stopped_at=self.now(), generation=S.generation + 1).where(
                    (S.supervisor_id == sup.supervisor_id) & S.stopped_at.is_null()
                    & (S.heartbeat_at + S.lease_ms < now)
                ).execute()
                if n != 1:
                    continue  # it heartbeat meanwhile, or someone else expired it first
                self._notify(SUPERVISOR)
                out = Expired(sup, [], [])
                for task in self.owned_by(sup.supervisor_id):
                    self._lock_flow(task.flow_id)  # same lock order as every other write
                    task = Task.get_by_id(task.task_id)
                    if task.status != T.RUNNING or task.supervisor_id != sup.supervisor_id:
                        continue
                    result = known_result(task) if known_result is not None else None
                    if result is None:
                        settle(self, task, T.LOST, actor, kind="lost", error=reason)
                        out.lost.append(task.task_id)
                    else:
                        settle(self, task, result.status, actor, kind="finished", error=result.error,
                               exit_code=result.exit_code, terminal_summary=result.summary,
                               note=f"result read from its exit file: {reason}")
                        out.finished.append(task.task_id)
            done.append(out)
        return done

    # -- late results ---------------------------------------------------------------------------

    def lost_on_host(self, host: str) -> list[Any]:  # rows whose run_dir is set
        """Attempts that ran on `host`, ended `lost` lately and have no late result recorded:
        a supervisor there looks for their exit files (record_late_result)."""
        Task, Event = self.m.Task, self.m.Event
        # Correlated, so that it reads the event index of each candidate, never the whole log.
        recorded = Event.select(pw.SQL("1")).where((Event.task_id == Task.task_id) & (Event.kind == "late_result"))
        return list(Task.select().where(
            (Task.status == T.LOST) & (Task.host == host) & Task.run_dir.is_null(False)
            & (Task.ended_at >= self.now() - LATE_RESULT_WINDOW_MS) & ~pw.fn.EXISTS(recorded)))

    def record_late_result(self, task_id: str, result: RunResult | None, actor: str,
                           note: str | None = None) -> str | None:
        """Record what became of an attempt already marked lost (see the module docstring):
        its real result, or (`result` None) only `note`, e.g. that it was killed when its
        supervisor came back. Once per attempt; later calls change nothing. Returns the id of
        the retry it withdrew, if any."""
        Task = self.m.Task
        with self.atomic():
            row = self._run('SELECT "flow_id" FROM "task" WHERE "task_id" = ?', (task_id,)).fetchone()
            if row is None:
                raise Task.DoesNotExist(f"Task {task_id!r} does not exist")
            self._lock_flow(row[0])
            task = self._fetch(Task, task_id)
            if task.status != T.LOST:
                raise IllegalTransition(f"task {task_id[:8]} is {task.status}, not lost: its result is not late")
            if self._run('SELECT 1 FROM "event" WHERE "task_id" = ? AND "kind" = ?',
                         (task_id, "late_result")).fetchone():
                return None
            if result is None:
                self._event(task.flow_id, "late_result", task_id=task_id, actor=actor, detail=note)
                self._notify()
                return None
            code = "" if result.exit_code is None else f"exit {result.exit_code}, "
            what = f"{code}{result.status}" + (f" ({result.error})" if result.error else "")
            changes: dict[str, Any] = {"exit_code": result.exit_code}
            if result.summary is not None:
                changes["terminal_summary"] = result.summary[:500]
            self._update_by_id(Task, task_id, changes)
            self._event(task.flow_id, "late_result", task_id=task_id, actor=actor,
                        detail=f"its run ended {what}, after it was declared lost" + (f"; {note}" if note else ""))
            withdrawn = self._withdraw_retry(task, result, what, actor)
            self._recompute_flow(task.flow_id, actor)
        return withdrawn

    def _withdraw_retry(self, lost: Any, result: RunResult, what: str, actor: str) -> str | None:
        """The automatic retry of `lost`, not started yet, settled with `result` (which would
        not have been retried): it is not needed and must not run. None when there is none."""
        Task = self.m.Task
        if result.status in RETRYABLE_TASK:
            return None  # the real outcome would have been retried too: the retry stands
        retry = Task.get_or_none((Task.flow == lost.flow_id) & (Task.label == lost.label)
                                 & (Task.is_latest == True))  # noqa: E712
        if retry is None or retry.parent_task_id != lost.task_id or retry.status not in (T.QUEUED, T.AWAITING_APPROVAL):
            return None  # none, or it started already: it ran, and its own result stands
        made = self._run('SELECT "kind" FROM "event" WHERE "task_id" = ? ORDER BY "id" LIMIT 1',
                         (retry.task_id,)).fetchone()
        if made is None or made[0] != "auto_retry":
            return None  # an operator asked for this retry: theirs to cancel
        settle(self, retry, result.status, actor, kind="withdrawn", error=result.error,
               terminal_summary=result.summary, check=False, recompute=False,
               note=f"never ran: attempt {lost.attempt} ({lost.task_id[:8]}) ended {what} after it "
                    "was declared lost, so this retry was not needed; it carries that result")
        return retry.task_id
