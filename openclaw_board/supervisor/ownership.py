"""Ownership across hosts: expiring other hosts' leases, and what a fenced supervisor does.

Leases. Every live supervisor, every `lease_check_s`, asks the ledger to expire the
supervisors on OTHER hosts whose heartbeat is older than their lease (`expire_leases`,
judged on the database's clock: ledger/leases.py): they are declared dead (generation
bumped) and each of their running tasks is settled: with its real result when its exit
file is where we can see it (this machine, or shared storage: `result_on_disk`), else
`lost`, which the ledger retries where the spec allows. On our own host the process-based
recovery (recovery.py) decides instead, since there we can look at the processes themselves.

Fencing. A supervisor that was declared dead while it lived (its host was cut off, or it
stalled past its lease) learns it from a refused heartbeat or a StaleOwner on a write.
It re-registers under a new id and, for each run it still watches:
- the task is still running and nobody else took it: it adopts it again and carries on;
- the task was marked lost meanwhile and its run has ENDED (its exit file is on disk): the
  result arrived late; it is recorded, not thrown away (`record_late`, which also withdraws
  the automatic retry the loss caused if that retry has not started and is not needed);
- the task was settled meanwhile and its run still goes on: it KILLS the run's process
  group. The ledger has already decided this run's fate and may have started it again on
  another host; letting it go on would run it twice in effect (a lost attempt gets a
  `late_result` event saying it was killed);
- the task was settled meanwhile and its run has ended (someone recorded its result): it
  lets go;
- another live supervisor owns it now (same-host recovery adopted it): it lets go,
  without a signal; that supervisor watches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ledger import LedgerError
from ..ledger.errors import IllegalTransition, NotFound
from . import procs
from .outcome import Outcome, outcome_of
from .rundir import child_identity
from .wrapper import EXIT_FILE, read_kv

if TYPE_CHECKING:
    from .loop import Supervisor
    from .rundir import Run

LEASE_CHECK_S = 5.0


class Ownership:
    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup

    def check_leases(self) -> None:
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        for dead, lost, finished in ledger.expire_leases(sup.host, actor=f"supervisor:{sup.supervisor_id[:8]}",
                                                         known_result=result_on_disk):
            sup.journal(f"supervisor {dead.supervisor_id[:8]} on {dead.host} missed its lease: declared dead, "
                        f"{len(lost)} running task(s) marked lost"
                        + (f" ({', '.join(t[:8] for t in lost)})" if lost else "")
                        + (f", {len(finished)} finished (exit file on disk: {', '.join(t[:8] for t in finished)})"
                           if finished else ""))

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
            kv = run.read_exit() if run is not None else None
            what = task.status if task is not None else "gone"
            if kv is not None and task is not None and task.status == "lost":
                record_late(sup, task, kv)
            elif kv is not None:
                sup.journal(f"task {task_id[:8]}: settled elsewhere ({what}) while we were fenced; its run had ended")
            else:
                if run is not None:
                    kill_run(run)
                sup.journal(f"task {task_id[:8]}: settled elsewhere ({what}) while we were fenced; killed our run")
                if task is not None and task.status == "lost":
                    ledger.record_late_result(task_id, None, f"supervisor:{sup.supervisor_id[:8]}", note=(
                        "its run was still going when its supervisor came back; killed, since it had been "
                        "declared lost (and retried where its spec allows)"))
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


def result_on_disk(task: Any) -> Outcome | None:
    """The result in a run's exit file, if its run directory is visible from here."""
    if not task.run_dir:
        return None
    kv = read_kv(str(Path(task.run_dir) / EXIT_FILE))
    return None if kv is None else _outcome(task, kv)


def _outcome(task: Any, kv: dict[str, str]) -> Outcome:
    return outcome_of(kv, kv.get("reason") == "stop" and task.cancel_requested_at is not None)


def record_late(sup: Supervisor, task: Any, kv: dict[str, str]) -> None:
    """Record the result of an attempt that was marked lost but whose run ended after all."""
    assert sup.ledger is not None and sup.supervisor_id is not None
    out = _outcome(task, kv)
    withdrawn = sup.ledger.record_late_result(task.task_id, out, f"supervisor:{sup.supervisor_id[:8]}")
    code = "" if out.exit_code is None else f" exit {out.exit_code}"
    sup.journal(f"task {task.task_id[:8]}: declared lost, but its run ended {out.status}{code}: recorded that late"
                + (f"; its retry {withdrawn[:8]} was not needed and never ran (withdrawn)" if withdrawn else ""))


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
