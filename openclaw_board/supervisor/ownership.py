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
from typing import Any

from ..ledger import LedgerError
from ..ledger.errors import IllegalTransition, NotFound
from . import procs
from .context import Context
from .decisions import Action, Fenced, decide_fenced
from .outcome import Outcome, outcome_of
from .run_table import RunTable
from .rundir import Run, child_identity
from .wrapper import EXIT_FILE, read_kv

LEASE_CHECK_S = 5.0


class Ownership:
    def __init__(self, ctx: Context, runs: RunTable) -> None:
        self.ctx = ctx
        self.runs = runs

    def check_leases(self) -> None:
        ctx = self.ctx
        for dead, lost, finished in ctx.ledger.expire_leases(ctx.host, actor=ctx.actor, known_result=result_on_disk):
            ctx.journal(f"supervisor {dead.supervisor_id[:8]} on {dead.host} missed its lease: declared dead, "
                        f"{len(lost)} running task(s) marked lost"
                        + (f" ({', '.join(t[:8] for t in lost)})" if lost else "")
                        + (f", {len(finished)} finished (exit file on disk: {', '.join(t[:8] for t in finished)})"
                           if finished else ""))

    def reconcile_all(self, old_id: str) -> None:
        """We were declared dead as `old_id` and have re-registered (the loop did): settle our runs."""
        self.ctx.journal(f"was declared dead as {old_id[:8]}: re-registered; reconciling {len(self.runs)} run(s)")
        for task_id in self.runs.ids():
            self.reconcile(task_id)

    def reconcile(self, task_id: str) -> None:
        """Keep, kill or let go of one run after a refused write (see the module docstring)."""
        ctx, ledger = self.ctx, self.ctx.ledger
        try:
            ledger.adopt(task_id, ctx.supervisor_id, generation=ctx.generation)
            readopted = True
        except (IllegalTransition, NotFound):
            readopted = False
        task = None
        if not readopted:
            try:
                task = ledger.get_task(task_id)
            except NotFound:
                task = None
        run = self.runs.get(task_id)
        kv = run.read_exit() if run is not None and not readopted and (task is None or task.status != "running") \
            else None
        status = task.status if task is not None else None
        action = decide_fenced(Fenced(readopted=readopted, status=status, exit_recorded=kv is not None))
        what = status or "gone"
        if action == Action.KEEP:
            ctx.journal(f"task {task_id[:8]}: still ours, re-adopted")
            return
        if action == Action.RECORD_LATE:
            assert kv is not None
            record_late(ctx, task, kv)
        elif action == Action.LET_GO and task is not None and status == "running":
            ctx.journal(f"task {task_id[:8]}: now owned by supervisor {str(task.supervisor_id)[:8]}; let go")
        elif action == Action.LET_GO:
            ctx.journal(f"task {task_id[:8]}: settled elsewhere ({what}) while we were fenced; its run had ended")
        else:
            if run is not None:
                kill_run(run)
            ctx.journal(f"task {task_id[:8]}: settled elsewhere ({what}) while we were fenced; killed our run")
            if status == "lost":
                ledger.record_late_result(task_id, None, ctx.actor, note=(
                    "its run was still going when its supervisor came back; killed, since it had been "
                    "declared lost (and retried where its spec allows)"))
        self.runs.drop(task_id)

    def stale_write(self, task_id: str, error: LedgerError) -> bool:
        """A write about `task_id` was refused: True when we are fenced as a whole (the loop then
        re-registers and calls `reconcile_all`); else this task alone is reconciled."""
        ctx = self.ctx
        ctx.journal(f"task {task_id[:8]}: {error}")
        if not ctx.ledger.heartbeat(ctx.supervisor_id):
            return True
        if task_id in self.runs:
            self.reconcile(task_id)
        return False


def result_on_disk(task: Any) -> Outcome | None:
    """The result in a run's exit file, if its run directory is visible from here."""
    if not task.run_dir:
        return None
    kv = read_kv(str(Path(task.run_dir) / EXIT_FILE))
    return None if kv is None else _outcome(task, kv)


def _outcome(task: Any, kv: dict[str, str]) -> Outcome:
    return outcome_of(kv, kv.get("reason") == "stop" and task.cancel_requested_at is not None)


def record_late(ctx: Context, task: Any, kv: dict[str, str]) -> None:
    """Record the result of an attempt that was marked lost but whose run ended after all."""
    out = _outcome(task, kv)
    withdrawn = ctx.ledger.record_late_result(task.task_id, out, ctx.actor)
    code = "" if out.exit_code is None else f" exit {out.exit_code}"
    ctx.journal(f"task {task.task_id[:8]}: declared lost, but its run ended {out.status}{code}: recorded that late"
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
