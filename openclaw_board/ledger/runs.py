"""The supervisor's side of the ledger: claiming runnable work and recording what its
processes did (start, progress, finish, lost), fenced so that only the current owner writes.

Operator transitions live in `transitions.py`; both end in the same `_settle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .core import LedgerBase
from .errors import IllegalTransition, StaleOwner
from .models import TaskModel
from .runnable import anything_runnable, runnable, still_runnable
from .settle import LOG_TAIL_MAX, clip, set_status, settle
from .states import TERMINAL_TASK
from .states import TaskStatus as T


class _SupervisorHead(NamedTuple):
    host: str
    stopped_at: int | None
    generation: int


@dataclass(frozen=True)
class Claim:
    """What `claim_next` got: the task now running under the claimant, or None; and whether it
    skipped a flow another writer held (PostgreSQL). A claim that found nothing but was
    `contended` may have missed work held by others for a moment: look again soon."""

    task: TaskModel | None
    contended: bool = False


class Runs(LedgerBase):
    _draining: bool = False  # the last claim found work (see claim_next)

    # The run directory a claim records (parameters: the usual name, the name for a task claimed before).
    _CLAIM_RUN_DIR = ', "run_dir" = CASE WHEN "run_dir" IS NULL THEN ? ELSE ? END'

    def claim_next(
        self,
        supervisor_id: str,
        host: str,
        *,
        exclude_runtimes: frozenset[str] = frozenset(),
        generation: int | None = None,
        run_root: str | None = None,
    ) -> Claim:
        """The next runnable task, moved to running and owned by this supervisor (see Claim).

        `run_root`: the directory where the claimant makes its run directories. The claim then
        records the task's run directory, before anything is started: if the claimant dies
        before it starts the command, recovery on its host knows exactly where to look, and
        can prove that nothing started (requeue_unstarted). A task claimed before (a claim
        withdrawn that way) gets a fresh name, `<task_id>.<claim ms>`, never the old one: a
        wrapper of the withdrawn claim that is still starting must not find the new spec."""
        now = self.now()
        if self.is_sqlite and not self._draining and not anything_runnable(self, now, exclude_runtimes):
            # SQLite has one write lock for the whole file: an idle supervisor polling with
            # BEGIN IMMEDIATE would make every operator's write wait behind it. Look first
            # (unless the last claim found work: draining a backlog, the look is one statement too many).
            return Claim(None)
        actor = f"supervisor:{supervisor_id[:8]}"
        contended = False
        with self.atomic():
            sup = self._supervisor_head(supervisor_id)
            if sup is not None and sup.stopped_at is not None:
                raise StaleOwner(f"supervisor {supervisor_id[:8]} was stopped or declared dead: it may not claim")
            if generation is None and sup is not None:
                generation = sup.generation
            busy: set[str] = set()  # flows another writer holds: skip all their candidates at once
            for task in runnable(self, now, exclude_runtimes):
                if not self.is_sqlite:
                    if task.flow_id in busy:
                        continue
                    if not self._lock_flow(task.flow_id, skip_locked=True):
                        # Another writer holds the flow: skip it, never wait (claims must
                        # not queue up behind each other).
                        contended = True
                        busy.add(task.flow_id)
                        continue
                    if not still_runnable(self, task, now):
                        continue  # taken, cancelled, or a dependency retried since it was read
                started = max(now, task.created_at)
                params: tuple[Any, ...] = (T.RUNNING, supervisor_id, host, started, started, generation, None)
                if run_root is not None:
                    base = f"{run_root.rstrip('/')}/{task.task_id}"
                    params += (base, f"{base}.{started}")
                updated = self._run(
                    'UPDATE "task" SET "status" = ?, "supervisor_id" = ?, "host" = ?, "started_at" = ?, '
                    '"last_event_at" = ?, "owner_token" = ?, "ended_at" = ?'
                    + (self._CLAIM_RUN_DIR if run_root is not None else "")
                    + ' WHERE "task_id" = ? AND "status" = ?',
                    (*params, task.task_id, T.QUEUED),
                ).rowcount
                if updated != 1:
                    continue
                self._event(task.flow_id, "claimed", task_id=task.task_id, src=T.QUEUED,
                            dst=T.RUNNING, actor=actor, detail=host)
                self._recompute_flow(task.flow_id, actor)
                self._draining = True
                return Claim(self._fetch(self.m.Task, task.task_id), contended)
        self._draining = False
        return Claim(None, contended)

    def _supervisor_head(self, supervisor_id: str) -> _SupervisorHead | None:
        row = self._run('SELECT "host", "stopped_at", "generation" FROM "supervisor" WHERE "supervisor_id" = ?',
                        (supervisor_id,)).fetchone()
        return None if row is None else _SupervisorHead(*row)

    def _owned(self, task_id: str, supervisor_id: str | None) -> Any:
        if not self.is_sqlite:
            row = self._run('SELECT "flow_id" FROM "task" WHERE "task_id" = ?', (task_id,)).fetchone()
            if row is None:
                raise self.m.Task.DoesNotExist(f"Task {task_id!r} does not exist")
            self._lock_flow(row[0])
        # Read once the flow is held (SQLite: BEGIN IMMEDIATE already holds everything).
        task = self._fetch(self.m.Task, task_id)
        if supervisor_id is not None and task.supervisor_id != supervisor_id:
            raise StaleOwner(
                f"task {task_id[:8]} is owned by supervisor {str(task.supervisor_id)[:8]}, "
                f"not {supervisor_id[:8]}: write refused"
            )
        if supervisor_id is not None:
            self._check_fence(task, supervisor_id)
        if task.status != T.RUNNING:
            raise IllegalTransition(f"task {task_id[:8]} is {task.status}, not running")
        return task

    def _check_fence(self, task: Any, supervisor_id: str) -> None:
        """Fencing: a supervisor that was stopped or declared dead (its lease ran
        out and its runs were settled elsewhere), or that claimed under an older generation,
        may not write about the task any more."""
        sup = self._supervisor_head(supervisor_id)
        if sup is None:
            return  # an unregistered writer (scripts, tests): ownership by id only
        if sup.stopped_at is not None:
            raise StaleOwner(
                f"supervisor {supervisor_id[:8]} on {sup.host} was stopped or declared dead "
                f"(generation {sup.generation}): its write about task {task.task_id[:8]} is refused"
            )
        if task.owner_token is not None and task.owner_token != sup.generation:
            raise StaleOwner(
                f"task {task.task_id[:8]} was claimed under generation {task.owner_token} of supervisor "
                f"{supervisor_id[:8]}, now at generation {sup.generation}: write refused"
            )

    def record_process(
        self, task_id: str, supervisor_id: str, pid: int, pid_start: int | None, run_dir: str
    ) -> None:
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            self._run('UPDATE "task" SET "pid" = ?, "pid_start" = ?, "run_dir" = ?, "last_event_at" = ? '
                      'WHERE "task_id" = ?', (pid, pid_start, run_dir, self.now(), task_id))
            self._event(task.flow_id, "started", task_id=task_id,
                        actor=f"supervisor:{supervisor_id[:8]}", detail=f"pid {pid}")

    def report_progress(
        self, task_id: str, supervisor_id: str | None, *, progress: float | None = None,
        summary: str | None = None, log_tail: str | None = None,
    ) -> None:
        Task = self.m.Task
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            changes: dict[Any, Any] = {Task.last_event_at: self.now()}
            parts = []
            if progress is not None:
                # Rounded: PostgreSQL stores it as REAL, which refuses values like 1e-245.
                changes[Task.progress] = round(max(0.0, min(100.0, float(progress))), 2)
                parts.append(f"{changes[Task.progress]:g}%")
            if summary is not None:
                changes[Task.progress_summary] = clip(summary, 500)
                parts.append(clip(summary, 500) or "")
            if log_tail is not None:
                changes[Task.log_tail] = log_tail.replace("\x00", "")[-LOG_TAIL_MAX:]
            Task.update(changes).where(Task.task_id == task_id).execute()
            self._notify()
            if parts:
                self._event(task.flow_id, "progress", task_id=task_id, actor="task",
                            detail=" ".join(parts))

    def finish(
        self, task_id: str, status: str, *, supervisor_id: str | None = None,
        exit_code: int | None = None, error: str | None = None,
        terminal_summary: str | None = None, actor: str | None = None,
    ) -> Any:
        """Record how a running task ended; retries it automatically when its spec allows."""
        if status not in TERMINAL_TASK:
            raise IllegalTransition(f"{status} is not a terminal status")
        actor = actor or (f"supervisor:{supervisor_id[:8]}" if supervisor_id else "system")
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            settle(self, task, status, actor, kind="finished", error=error,
                   exit_code=exit_code, terminal_summary=terminal_summary)
        return self._fetch(self.m.Task, task_id)

    def requeue_unstarted(self, task_id: str, supervisor_id: str, reason: str, *, keep_run_dir: bool) -> TaskModel:
        """Put back in the queue a claimed task whose command certainly never started (its
        claimant died between the claim and the start; supervisor/recovery.py proves it from
        the run directory the claim recorded). The same attempt goes back to `queued`: it
        never ran, so nothing is lost and no attempt is used up; a `requeued` event says why.
        `keep_run_dir`: the withdrawn claim's directory stays recorded, so that the next claim
        names its own differently (see claim). A task whose cancel was asked meanwhile is
        cancelled instead. Refused once a process was recorded for it: then it started."""
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            if task.pid is not None:
                raise IllegalTransition(
                    f"task {task_id[:8]} has a recorded process (pid {task.pid}): it started, it stays running")
            actor = f"supervisor:{supervisor_id[:8]}"
            if task.cancel_requested_at is not None or self._flow_cancel_requested(task.flow_id):
                settle(self, task, T.CANCELLED, actor, kind="cancelled",
                       error="cancelled by operator (before it started)", note=reason)
                return self._fetch(self.m.Task, task_id)
            set_status(self, task, T.QUEUED, actor, "requeued", check=False, detail=reason, extra={
                "supervisor_id": None, "host": None, "started_at": None, "owner_token": None,
                "run_dir": task.run_dir if keep_run_dir else None})
            self._recompute_flow(task.flow_id, actor)
        return self._fetch(self.m.Task, task_id)

    def mark_lost(self, task_id: str, reason: str, actor: str = "system", *,
                  supervisor_id: str | None = None) -> TaskModel:
        """`supervisor_id`: the writer, fenced like every owner's write (a supervisor that lost
        the task meanwhile must not call the next owner's run lost)."""
        with self.atomic():
            task = self._owned(task_id, supervisor_id)
            settle(self, task, T.LOST, actor, kind="lost", error=reason)
        return self._fetch(self.m.Task, task_id)
