"""Looking at one watched run and doing what its state calls for: report its progress, record
its end from its `exit` file, watch its orphaned command, or declare it cancelled or lost.

What to do is decided by `decisions.decide_watched` from the facts gathered here; this module
carries it out. It takes the supervisor's context and run table, not the Supervisor.
"""

from __future__ import annotations

from ..ledger.outcome_text import outcome_text
from . import procs
from .context import Context
from .decisions import Action, Watched, decide_watched
from .outcome import outcome_of
from .run_table import RunTable
from .rundir import Run, child_identity
from .watching import check_orphan, report


def check_run(ctx: Context, runs: RunTable, run: Run) -> None:
    """Look at one run (in the order `decisions.Watched` lists), then do what it calls for."""
    kv: dict[str, str] | None = None
    child: tuple[int, int | None] | None = None
    if run.orphan is not None:
        facts = Watched(orphan=True)
    elif run.wrapper_alive():
        facts = Watched(wrapper_alive=True)
    elif (kv := run.read_exit()) is not None:
        facts = Watched(exit_recorded=True)
    else:
        child = child_identity(run.run_dir, run.pid)
        facts = Watched(command_alive=bool(child and procs.alive(*child)), stop_sent=run.stop_sent_at is not None)
    action = decide_watched(facts)
    if action == Action.CHECK_ORPHAN:
        check_orphan(ctx, runs, run)  # its wrapper died: we enforce its timeout and cancel
    elif action == Action.REPORT:
        report(ctx, run)
    elif action == Action.FINISH:
        assert kv is not None
        finish_from_exit(ctx, runs, run, kv)
    elif action == Action.WATCH_ORPHAN:
        assert child is not None
        run.orphan = child
        ctx.journal(f"task {run.task_id[:8]}: wrapper died, command pid {child[0]} lives on; watching it")
        check_orphan(ctx, runs, run)
    elif action == Action.CANCELLED:
        # We stopped it ourselves, so early that its wrapper had no time to record it.
        runs.drop(run.task_id)
        ctx.ledger.finish(run.task_id, "cancelled", supervisor_id=ctx.supervisor_id,
                          error="cancelled by operator (before it started)")
        ctx.journal(f"task {run.task_id[:8]}: cancelled before it started")
    else:
        runs.drop(run.task_id)
        ctx.ledger.mark_lost(run.task_id, "process vanished with no recorded result",
                             actor=ctx.actor, supervisor_id=ctx.supervisor_id)
        ctx.journal(f"task {run.task_id[:8]}: lost (wrapper gone, no exit file)")


def finish_from_exit(ctx: Context, runs: RunTable, run: Run, kv: dict[str, str]) -> None:
    """Record the end the run's wrapper wrote in its `exit` file (its last progress first)."""
    # Only a stopped run needs to know whether an operator asked for it (one read saved per task).
    cancel = kv.get("reason") == "stop" and ctx.ledger.get_task(run.task_id).cancel_requested_at is not None
    out = outcome_of(kv, cancel)
    runs.drop(run.task_id)
    report(ctx, run, final=kv)
    ctx.ledger.finish(run.task_id, out.status, supervisor_id=ctx.supervisor_id, exit_code=out.exit_code,
                      error=out.error, terminal_summary=out.summary)
    said = outcome_text(out.exit_code, out.error)
    ctx.journal(f"task {run.task_id[:8]}: {out.status}" + (f" ({said})" if said else ""))
