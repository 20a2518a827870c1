"""Ownership across hosts: expiring other hosts' leases, and what a fenced supervisor does.

Leases. Every live supervisor, every `lease_check_s`, asks the ledger to expire the
supervisors on OTHER hosts whose heartbeat is older than their lease (`expire_leases`):
they are declared dead (generation bumped) and their running tasks become `lost`, so the
ledger retries them where the spec allows. On our own host the process-based recovery
(recovery.py) decides instead, since there we can look at the processes themselves.

Fencing. A supervisor that was declared dead while it lived (its host was cut off, or it
stalled past its lease) learns it from a refused heartbeat or a StaleOwner on a write.
It re-registers under a new id and, for each run it still watches:
- the task is still running and nobody else took it: it adopts it again and carries on;
- the task was settled meanwhile (marked lost, hence retried elsewhere, or cancelled): it
  KILLS the run's process group. The ledger has already decided this run's fate and may
  have started it again on another host; letting it go on would run it twice in effect.
  Its output and exit would be recorded nowhere (every write about it is refused);
- another live supervisor owns it now (same-host recovery adopted it): it lets go,
  without a signal; that supervisor watches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ledger import LedgerError
from ..ledger.errors import IllegalTransition, NotFound
from . import procs
from .runs import child_identity

if TYPE_CHECKING:
    from .core import Supervisor
    from .runs import Run

LEASE_CHECK_S = 5.0


class Ownership:
    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup

    def check_leases(self) -> None:
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        for dead, lost in ledger.expire_leases(sup.host, actor=f"supervisor:{sup.supervisor_id[:8]}"):
            sup.journal(f"supervisor {dead.supervisor_id[:8]} on {dead.host} missed its lease: declared dead, "
                        f"{len(lost)} running task(s) marked lost"
                        + (f" ({', '.join(t[:8] for t in lost)})" if lost else ""))

    def fenced(self, old_id: str) -> None:
        """We were declared dead as `old_id`: come back under a new id, settle our runs."""
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None
        sup.register()
        sup.journal(f"was declared dead as {old_id[:8]}: re-registered; reconciling {len(sup.runs)} run(s)")
        for task_id in list(sup.runs):
            self.reconcile(task_id)

    def reconcile(self, task_id: str) -> None:
        """Keep, kill or let go of one run after a refused write (see the module docstring)."""
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        try:
            ledger.adopt(task_id, sup.supervisor_id, generation=sup.generation)
            sup.journal(f"task {task_id[:8]}: still ours, re-adopted")
            return
        except (IllegalTransition, NotFound):
            pass
        try:
            task = ledger.get_task(task_id)
        except NotFound:
            task = None
        run = sup.runs.get(task_id)
        if task is None or task.status != "running":
            if run is not None:
                kill_run(run)
            what = task.status if task is not None else "gone"
            sup.journal(f"task {task_id[:8]}: settled elsewhere ({what}) while we were fenced; killed our run")
        else:
            sup.journal(f"task {task_id[:8]}: now owned by supervisor {str(task.supervisor_id)[:8]}; let go")
        sup.drop(task_id)

    def stale_write(self, task_id: str, error: LedgerError) -> None:
        """A write about `task_id` was refused: fenced as a whole, or this task only?"""
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        sup.journal(f"task {task_id[:8]}: {error}")
        old = sup.supervisor_id
        if not ledger.heartbeat(old):
            self.fenced(old)
        elif task_id in sup.runs:
            self.reconcile(task_id)


def kill_run(run: Run) -> None:
    """SIGKILL the command's process group, then stop the wrapper (nobody wants its result)."""
    child = run.orphan or child_identity(run.run_dir)
    if child:
        procs.signal_group(child[0], child[1], procs.KILL)
    if run.pid is not None:
        procs.signal_pid(run.pid, run.start, procs.KILL)
    if run.popen is not None:
        try:
            run.popen.wait(timeout=1)
        except Exception:  # noqa: BLE001 - it was SIGKILLed; if it lingers, the OS reaps it later
            pass
