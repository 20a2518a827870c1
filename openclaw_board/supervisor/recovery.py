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
  5. nothing, and its claimant died (or stalled) before starting it: back to `queued`, same
     attempt, with a `requeued` event (see "Never started" below);
  6. nothing else: `lost`, "process vanished with no recorded result". The ledger retries it
     when its spec allows. One claimed by US (the claim committed but its answer was lost
     with the connection) is simply started now.
A task is never called lost while its wrapper or its command lives, whatever heartbeats say.

Never started. A claim records the run directory the claimant will use (ledger claim, with
`run_root`), and the claimant starts a task in a fixed order, each step creating one name in
that directory BEFORE any wrapper process exists: make the directory (mkdir), write `spec`,
then start_wrapper sets aside `exit.reserve` (and opens `wrapper.err`) and only then forks
the wrapper. None of these steps succeeds on a name that exists as a directory. So for a
task with no recorded process whose claimant ran on this host and is gone, or stalled past
its lease, it is certain that its command never started and never will, when:
- the claimant is dead (pid gone or reused) and `exit.reserve` and `wrapper.err` do not
  exist (or the directory does not): it never reached the fork, and being dead never will
  (NOT_SPAWNED; what it left is removed, and the directory's name may serve again);
- the claimant lives (stalled) and we take the name of its next step first, as a directory
  (the run directory, `spec` or `exit.reserve`): that step then fails, and it starts
  nothing (TAKEN; it finds the claim taken back and says so).
Then the task goes back to the queue, same attempt (ledger.requeue_unstarted). A taken
directory stays as it is, and the next claim of the task names its directory differently.
Once `exit.reserve` exists a wrapper may have been forked, and a wrapper that could not
write its identity (a full disk) may be running the command: nothing is proved, and the
rules above apply (lost after START_GRACE_S with no sign of it).

Late results. Each pass also looks at the attempts on this host that were marked lost lately
(their supervisor missed its lease while their run went on): one whose exit file is on disk
has its result recorded (ownership.record_late, ledger.record_late_result).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ledger import LedgerError
from ..ledger.errors import IllegalTransition
from . import procs
from .logs import run_dir_of
from .ownership import record_late
from .rundir import Run, child_identity, wrapper_identity
from .wrapper import ERR_FILE, EXIT_FILE, EXIT_RESERVE_FILE, SPEC_FILE, WRAPPER_FILE, read_kv

if TYPE_CHECKING:
    from .loop import Supervisor

START_GRACE_S = 5.0
LOST_REASON = "process vanished with no recorded result"
# never_started's answers (None: it may have started).
NOT_SPAWNED, TAKEN, WAIT = "not spawned", "taken", "wait"
# The names a claimant creates, in order, before it forks a wrapper (see "Never started").
_STEPS = (SPEC_FILE, EXIT_RESERVE_FILE)


class Recovery:
    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup
        # Task id -> the dead claimant of a task we adopted and are still judging (WAIT).
        self._claimants: dict[str, Any] = {}

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
        for task in ledger.lost_on_host(sup.host):
            kv = read_kv(str(Path(task.run_dir) / EXIT_FILE))
            if kv is not None:
                try:
                    record_late(sup, task, kv)
                except (IllegalTransition, LedgerError) as exc:
                    sup.journal(f"task {task.task_id[:8]}: late result not recorded: {exc}")

    def _owner_dead(self, owner_id: str | None) -> bool:
        ledger = self.sup.ledger
        assert ledger is not None
        owner = self._row(owner_id)
        if owner is None or owner.stopped_at is not None:
            return True
        if self._gone(owner):
            if ledger.declare_supervisor_dead(owner.supervisor_id):
                self.sup.journal(f"supervisor {owner.supervisor_id[:8]} (pid {owner.pid}) is gone: taking over")
            return True
        return not ledger.supervisor_alive(owner)

    def _gone(self, owner: Any | None) -> bool:
        """The owner's process is verifiably gone: it ran on this host and its pid is gone or
        reused. (A lease that ran out, or a stopped row, proves nothing about the process.)"""
        return owner is not None and owner.host == self.sup.host and not procs.alive(owner.pid, owner.pid_start)

    def _row(self, supervisor_id: str | None) -> Any | None:
        ledger = self.sup.ledger
        assert ledger is not None
        S = ledger.m.Supervisor
        return S.get_or_none(S.supervisor_id == supervisor_id) if supervisor_id else None

    def _take(self, task: Any) -> None:
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        claimant = self._claimants.pop(task.task_id, None)
        if task.supervisor_id != sup.supervisor_id:
            owner = self._row(task.supervisor_id)
            claimant = owner if owner is not None and owner.host == sup.host else None
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
        if claimant is not None and task.pid is None and task.run_dir:
            proof = never_started(run_dir, claimant_dead=self._gone(claimant))
            if proof == WAIT:
                self._claimants[task.task_id] = claimant
                return
            if proof is not None:
                self._requeue(task, claimant, run_dir, proof)
                return
        if ident is None and _younger_than(run_dir / SPEC_FILE, START_GRACE_S):
            return  # its wrapper may be starting right now
        ledger.mark_lost(task.task_id, LOST_REASON, actor=f"supervisor:{sup.supervisor_id[:8]}",
                         supervisor_id=sup.supervisor_id)
        sup.journal(f"{ref}: lost ({LOST_REASON})")

    def _requeue(self, task: Any, claimant: Any, run_dir: Path, proof: str) -> None:
        sup, ledger = self.sup, self.sup.ledger
        assert ledger is not None and sup.supervisor_id is not None
        keep = proof == TAKEN
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)  # no wrapper will ever use it: its name may serve again
            keep = os.path.lexists(run_dir)
        how = ("which died before starting it (no wrapper was ever started)" if proof == NOT_SPAWNED else
               "which stalled past its lease before starting it (its next step was taken from it, so it "
               "can never start it)")
        reason = (f"claimed by supervisor {claimant.supervisor_id[:8]} (pid {claimant.pid} on {claimant.host}) "
                  f"{how}: back in the queue, nothing ran")
        ledger.requeue_unstarted(task.task_id, sup.supervisor_id, reason, keep_run_dir=keep)
        sup.journal(f"task {task.task_id[:8]} ({task.label}): requeued: {reason}")


def never_started(run_dir: Path, *, claimant_dead: bool) -> str | None:
    """Whether the claim whose directory this is certainly never started its command (see
    "Never started" in the module docstring): NOT_SPAWNED or TAKEN when certain, WAIT when a
    live claimant just got ahead of us (look again next pass), None when it may have started."""
    if not os.path.isdir(run_dir) and os.path.lexists(run_dir):
        return None  # not what a claimant makes: judge nothing
    names = [run_dir / name for name in _STEPS]
    if any(os.path.isdir(path) for path in names):
        return TAKEN  # taken by an earlier pass whose requeue did not commit
    if os.path.lexists(run_dir / EXIT_RESERVE_FILE) or os.path.lexists(run_dir / ERR_FILE) \
            or os.path.lexists(run_dir / WRAPPER_FILE):
        return None  # start_wrapper was entered: a wrapper may have been forked
    if claimant_dead:
        return NOT_SPAWNED
    # A live claimant: take the name it creates next; its own step then fails.
    nxt = run_dir if not os.path.lexists(run_dir) else next(p for p in names if not os.path.lexists(p))
    try:
        os.mkdir(nxt, 0o700)
    except OSError:
        return WAIT  # it got there first (or cannot: then neither can it)
    return TAKEN


def _younger_than(path: Any, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False
