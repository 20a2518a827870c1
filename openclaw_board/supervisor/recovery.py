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
set aside `exit.reserve`, then `wrapper.err` is made and only then is the wrapper forked
(by the supervisor's forker, which makes `wrapper.err` exclusively right before its fork, or
by the supervisor itself when it starts wrappers by exec: spawn.py). None of these steps
succeeds on a name that exists as a directory. So for a task with no recorded process whose
claimant ran on this host and is gone, or stalled past its lease, it is certain that its
command never started and never will, when:
- the claimant is dead (pid gone or reused) and `exit.reserve` does not exist (or the
  directory does not): it never asked for a wrapper, and being dead never will
  (NOT_SPAWNED; what it left is removed, and the directory's name may serve again);
- the claimant lives (stalled), or died after `exit.reserve` (its request may still be on
  its way to its forker, which outlives it for a moment), and we take the name of its next
  step first, as a directory (the run directory, `spec`, `exit.reserve` or `wrapper.err`):
  that step then fails, and nothing starts (TAKEN; a live claimant finds the claim taken
  back and says so).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..ledger import LedgerError
from ..ledger.errors import IllegalTransition
from ..paths import run_dir_of
from . import procs
from .context import Context
from .decisions import NOT_SPAWNED, TAKEN, UNSETTLED, Action, Adopted, decide_adopted
from .ownership import record_late
from .run_table import RunTable
from .rundir import Run, child_identity, wrapper_identity
from .wrapper import ERR_FILE, EXIT_FILE, EXIT_RESERVE_FILE, SPEC_FILE, WRAPPER_FILE, read_kv

START_GRACE_S = 5.0
LOST_REASON = "process vanished with no recorded result"
# The names a claimant creates, in order, before it forks a wrapper (see "Never started").
_STEPS = (SPEC_FILE, EXIT_RESERVE_FILE, ERR_FILE)


@dataclass(frozen=True)
class Handoff:
    """What only the loop can do with a task recovery took over: START it (`task`), FINISH it
    from its exit file (`run`, `kv`), or WATCH it (`run`; WATCH_ORPHAN runs are watched too)."""

    action: Action
    task: Any
    run: Run | None = None
    kv: dict[str, str] | None = None


@dataclass(frozen=True)
class _Seen:
    facts: Adopted
    kv: dict[str, str] | None = None
    ident: tuple[int, int | None] | None = None  # the wrapper's
    child: tuple[int, int | None] | None = None  # the command's
    unwatched: bool = False  # its exit file was there at the first look


class Recovery:
    def __init__(self, ctx: Context, runs: RunTable) -> None:
        self.ctx = ctx
        self.runs = runs
        # Task id -> the dead claimant of a task we adopted and are still judging (UNSETTLED).
        self._claimants: dict[str, Any] = {}

    def run(self) -> list[Handoff]:
        """One pass; returns, in order, what the loop must do (start, finish or watch)."""
        ctx, ledger = self.ctx, self.ctx.ledger
        handoffs: list[Handoff] = []
        for task in ledger.running_on_host(ctx.host):
            if task.task_id in self.runs:
                continue
            if task.supervisor_id != ctx.supervisor_id and not self._owner_dead(task.supervisor_id):
                continue
            try:
                handoff = self._take(task)
            except (IllegalTransition, LedgerError) as exc:
                ctx.journal(f"task {task.task_id[:8]}: not re-attached: {exc}")
                continue
            if handoff is not None:
                handoffs.append(handoff)
        for task in ledger.lost_on_host(ctx.host):
            kv = read_kv(str(Path(task.run_dir) / EXIT_FILE))
            if kv is not None:
                try:
                    record_late(ctx, task, kv)
                except (IllegalTransition, LedgerError) as exc:
                    ctx.journal(f"task {task.task_id[:8]}: late result not recorded: {exc}")
        return handoffs

    def _owner_dead(self, owner_id: str | None) -> bool:
        ledger = self.ctx.ledger
        owner = self._row(owner_id)
        if owner is None or owner.stopped_at is not None:
            return True
        if self._gone(owner):
            if ledger.declare_supervisor_dead(owner.supervisor_id):
                self.ctx.journal(f"supervisor {owner.supervisor_id[:8]} (pid {owner.pid}) is gone: taking over")
            return True
        return not ledger.supervisor_alive(owner)

    def _gone(self, owner: Any | None) -> bool:
        """The owner's process is verifiably gone: it ran on this host and its pid is gone or
        reused. (A lease that ran out, or a stopped row, proves nothing about the process.)"""
        return owner is not None and owner.host == self.ctx.host and not procs.alive(owner.pid, owner.pid_start)

    def _row(self, supervisor_id: str | None) -> Any | None:
        S: Any = self.ctx.ledger.m.Supervisor
        return S.get_or_none(S.supervisor_id == supervisor_id) if supervisor_id else None

    def _take(self, task: Any) -> Handoff | None:
        """Adopt one task, look at its run (in the order `decisions.Adopted` lists), then act."""
        ctx, ledger = self.ctx, self.ctx.ledger
        claimant = self._claimants.pop(task.task_id, None)
        ours_unstarted = False
        if task.supervisor_id != ctx.supervisor_id:
            owner = self._row(task.supervisor_id)
            claimant = owner if owner is not None and owner.host == ctx.host else None
            task = ledger.adopt(task.task_id, ctx.supervisor_id, generation=ctx.generation)
        else:
            # Our own claim whose answer we never got (the connection dropped as it committed).
            ours_unstarted = task.pid is None and not run_dir_of(task, ctx.state).exists()
        run_dir = run_dir_of(task, ctx.state)
        run = Run(task.task_id, task.runtime, run_dir, progress=task.progress, summary=task.progress_summary)
        seen = self._look(task, run, claimant, ours_unstarted)
        facts = seen.facts
        action = decide_adopted(facts)
        ref = f"task {task.task_id[:8]} ({task.label})"
        if action == Action.START:
            ctx.journal(f"{ref}: claimed by us but never started; starting it")
            return Handoff(action, task)
        if action == Action.FINISH:
            if seen.unwatched:
                ctx.journal(f"{ref}: ended while unwatched; recording its result")
            return Handoff(action, task, run, seen.kv)
        if action == Action.WATCH:
            assert seen.ident is not None
            run.pid, run.start = seen.ident
            if task.pid is None:
                ledger.record_process(task.task_id, ctx.supervisor_id, run.pid, run.start, str(run_dir))
            ctx.journal(f"{ref}: re-attached to pid {run.pid}")
            return Handoff(action, task, run)
        if action == Action.WATCH_ORPHAN:
            assert seen.child is not None
            run.orphan = seen.child
            ctx.journal(f"{ref}: wrapper gone, command pid {seen.child[0]} lives; watching it")
            return Handoff(action, task, run)
        if action == Action.WAIT:
            if facts.proof == UNSETTLED:
                self._claimants[task.task_id] = claimant
            return None  # a live claimant got ahead of us, or its wrapper may be starting right now
        if action == Action.REQUEUE:
            assert facts.proof is not None
            self._requeue(task, claimant, run_dir, facts.proof)
            return None
        ledger.mark_lost(task.task_id, LOST_REASON, actor=ctx.actor, supervisor_id=ctx.supervisor_id)
        ctx.journal(f"{ref}: lost ({LOST_REASON})")
        return None

    def _look(self, task: Any, run: Run, claimant: Any | None, ours_unstarted: bool) -> _Seen:
        """The facts about an adopted run, each looked at only when the earlier ones decided nothing."""
        if ours_unstarted:
            return _Seen(Adopted(ours_unstarted=True))
        kv = run.read_exit()
        if kv is not None:
            return _Seen(Adopted(exit_recorded=True), kv=kv, unwatched=True)
        ident = (task.pid, task.pid_start) if task.pid and task.pid_start is not None else None
        ident = ident or wrapper_identity(run.run_dir)
        if ident and ident[1] is not None and procs.alive(*ident):
            return _Seen(Adopted(wrapper_alive=True), ident=ident)
        kv = run.read_exit()  # it may have ended between the two looks
        if kv is not None:
            return _Seen(Adopted(exit_recorded=True), kv=kv)
        child = child_identity(run.run_dir)
        if child and child[1] is not None and procs.alive(*child):
            return _Seen(Adopted(command_alive=True), child=child)
        proof = None
        if claimant is not None and task.pid is None and task.run_dir:
            proof = never_started(run.run_dir, claimant_dead=self._gone(claimant))
        young = ident is None and _younger_than(run.run_dir / SPEC_FILE, START_GRACE_S)
        return _Seen(Adopted(proof=proof, identity_known=ident is not None, spec_young=young))

    def _requeue(self, task: Any, claimant: Any, run_dir: Path, proof: str) -> None:
        ctx, ledger = self.ctx, self.ctx.ledger
        keep = proof == TAKEN
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)  # no wrapper will ever use it: its name may serve again
            keep = os.path.lexists(run_dir)
        if proof == NOT_SPAWNED:
            how = "which died before starting it (no wrapper was ever started)"
        elif self._gone(claimant):
            how = ("which died before its wrapper was forked (the name the fork needs first was taken, "
                   "so no wrapper can start)")
        else:
            how = ("which stalled past its lease before starting it (its next step was taken from it, so it "
                   "can never start it)")
        reason = (f"claimed by supervisor {claimant.supervisor_id[:8]} (pid {claimant.pid} on {claimant.host}) "
                  f"{how}: back in the queue, nothing ran")
        ledger.requeue_unstarted(task.task_id, ctx.supervisor_id, reason, keep_run_dir=keep)
        ctx.journal(f"task {task.task_id[:8]} ({task.label}): requeued: {reason}")


def never_started(run_dir: Path, *, claimant_dead: bool) -> str | None:
    """Whether the claim whose directory this is certainly never started its command (see
    "Never started" in the module docstring): NOT_SPAWNED or TAKEN when certain, UNSETTLED when a
    live claimant just got ahead of us (look again next pass), None when it may have started."""
    if not os.path.isdir(run_dir) and os.path.lexists(run_dir):
        return None  # not what a claimant makes: judge nothing
    names = [run_dir / name for name in _STEPS]
    if any(os.path.isdir(path) for path in names):
        return TAKEN  # taken by an earlier pass whose requeue did not commit
    if os.path.lexists(run_dir / ERR_FILE) or os.path.lexists(run_dir / WRAPPER_FILE):
        return None  # the last step before the fork was made: a wrapper may have been forked
    if claimant_dead and not os.path.lexists(run_dir / EXIT_RESERVE_FILE):
        return NOT_SPAWNED
    # A live claimant, or a request that may still reach a forker: take the name made next;
    # the step that would make it then fails.
    nxt = run_dir if not os.path.lexists(run_dir) else next(p for p in names if not os.path.lexists(p))
    try:
        os.mkdir(nxt, 0o700)
    except OSError:
        return UNSETTLED  # it got there first (or cannot: then neither can it)
    return TAKEN


def _younger_than(path: Any, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False
