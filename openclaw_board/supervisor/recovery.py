"""Re-attaching runs whose supervisor is gone (at start, then every few seconds).

For every task running on THIS host that no live supervisor owns:
- the owner is dead when it stopped, or (same host) its pid is gone or belongs to another
  process (start time differs), or its lease ran out. A dead owner whose lease still looks
  fresh (kill -9 a moment ago) is declared dead in the ledger so that we may adopt at once;
- we adopt the task (ledger.adopt), then look at its run directory:
  1. an `exit` file: the task ended while nobody watched; record its real outcome;
  2. the wrapper alive with the same start time: watch it to the end (it is not our
     child: we poll it and wait on its pidfd);
  3. the wrapper gone but the command alive (someone killed only the wrapper): watch the
     command until it ends, then record `lost` (its exit code went with the wrapper);
  4. a run directory younger than START_GRACE_S with no wrapper file yet: the wrapper may be
     starting; look again next pass;
  5. nothing: `lost`, "process vanished with no recorded result". The ledger retries it
     when its spec allows. A task claimed but never started (no run files) by ANOTHER
     supervisor lands here too; one claimed by US (the claim committed but its answer was
     lost with the connection) is simply started now.
A task is never called lost while its wrapper or its command lives, whatever heartbeats say.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..ledger import LedgerError
from ..ledger.errors import IllegalTransition
from . import procs
from .logs import run_dir_of
from .runs import Run, child_identity, wrapper_identity
from .wrapper import SPEC_FILE

if TYPE_CHECKING:
    from .core import Supervisor

START_GRACE_S = 5.0
LOST_REASON = "process vanished with no recorded result"


class Recovery:
    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup

    def run(self) -> None:
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None
        for task in ledger.running_on_host(sup.host):
            if task.task_id in sup.runs:
                continue
            if task.supervisor_id != sup.supervisor_id and not self._owner_dead(task.supervisor_id):
                continue
            try:
                self._take(task)
            except (IllegalTransition, LedgerError) as exc:
                sup.journal(f"task {task.task_id[:8]}: not re-attached: {exc}")

    def _owner_dead(self, owner_id: str | None) -> bool:
        ledger = self.sup.ledger
        assert ledger is not None
        S = ledger.m.Supervisor
        owner = S.get_or_none(S.supervisor_id == owner_id) if owner_id else None
        if owner is None or owner.stopped_at is not None:
            return True
        if owner.host == self.sup.host and not procs.alive(owner.pid, owner.pid_start):
            if ledger.declare_supervisor_dead(owner.supervisor_id):
                self.sup.journal(f"supervisor {owner.supervisor_id[:8]} (pid {owner.pid}) is gone: taking over")
            return True
        return not ledger.supervisor_alive(owner)

    def _take(self, task: Any) -> None:
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        if task.supervisor_id != sup.supervisor_id:
            task = ledger.adopt(task.task_id, sup.supervisor_id, generation=sup.generation)
        elif task.pid is None and not run_dir_of(task, sup.state).exists():
            # Our own claim whose answer we never got (the connection dropped as it
            # committed): nothing was started, so start it now rather than call it lost.
            sup.journal(f"task {task.task_id[:8]} ({task.label}): claimed by us but never started; starting it")
            sup.launch(task)
            return
        run_dir = run_dir_of(task, sup.state)
        run = Run(task.task_id, task.runtime, run_dir, progress=task.progress, summary=task.progress_summary)
        ref = f"task {task.task_id[:8]} ({task.label})"
        kv = run.read_exit()
        if kv is not None:
            sup.journal(f"{ref}: ended while unwatched; recording its result")
            sup.finish_from_exit(run, kv)
            return
        ident = (task.pid, task.pid_start) if task.pid and task.pid_start is not None else None
        ident = ident or wrapper_identity(run_dir)
        if ident and ident[1] is not None and procs.alive(*ident):
            run.pid, run.start = ident
            if task.pid is None:
                ledger.record_process(task.task_id, sup.supervisor_id, run.pid, run.start, str(run_dir))
            sup.watch(run)
            sup.journal(f"{ref}: re-attached to pid {run.pid}")
            return
        kv = run.read_exit()  # it may have ended between the two looks
        if kv is not None:
            sup.finish_from_exit(run, kv)
            return
        child = child_identity(run_dir)
        if child and child[1] is not None and procs.alive(*child):
            run.orphan = child
            sup.watch(run)
            sup.journal(f"{ref}: wrapper gone, command pid {child[0]} lives; watching it")
            return
        if ident is None and _younger_than(run_dir / SPEC_FILE, START_GRACE_S):
            return  # its wrapper may be starting right now
        ledger.mark_lost(task.task_id, LOST_REASON, actor=f"supervisor:{sup.supervisor_id[:8]}")
        sup.journal(f"{ref}: lost ({LOST_REASON})")


def _younger_than(path: Any, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False
