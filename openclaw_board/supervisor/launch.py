"""Starting one claimed task: its run directory, its `spec`, its wrapper, then the ledger told.

Takes the supervisor's context, its run table and spawner and the few settings a launch
needs, not the Supervisor. The order of the steps is what recovery relies on to prove
that a claim whose supervisor died never started (recovery.py, "never started").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..ledger.errors import StaleOwner
from . import procs
from .context import Context
from .run_table import RunTable
from .rundir import Run, write_spec
from .spawn import Spawner
from .testhooks import pause_at


@dataclass(frozen=True)
class LaunchSettings:
    """What every launch of one supervisor shares."""

    runs_root: Path
    ledger_url: str  # given to the task's environment (envpolicy.py)
    env_passthrough: tuple[str, ...]
    kill_grace_s: float
    head_cap: int
    tail_cap: int


def launch(ctx: Context, runs: RunTable, spawner: Spawner, settings: LaunchSettings, task: Any) -> bool:
    """Start `task` (claimed by us) and watch it. True when the run ended before a wake-up could
    be set on it (or this system has no pidfd): the loop must look at its runs again at once."""
    # Where the claim said it would be (recovery relies on it: recovery.py, "never started").
    run_dir = Path(task.run_dir) if task.run_dir else settings.runs_root / task.task_id
    run = Run(task.task_id, task.runtime, run_dir)
    pause_at("claimed")
    try:
        # Keep this order: the directory, `spec`, then start_wrapper's `exit.reserve`, each made
        # before any wrapper exists, and each failing on a name that exists as a directory.
        # Recovery proves from them that a dead (or fenced) claim never started (recovery.py).
        run_dir.mkdir(mode=0o700)  # exclusive: a run directory is never reused
        env = spawner.environment(ctx.ledger.env_of(task), passthrough=settings.env_passthrough,
                                  ledger_url=settings.ledger_url)
        write_spec(run_dir, task, ctx.ledger.command_of(task), env,
                   kill_grace_s=settings.kill_grace_s, head_cap=settings.head_cap, tail_cap=settings.tail_cap)
        pause_at("spec_written")
        run.popen, run.pid, run.start = spawner.start(run_dir, env)
        pause_at("wrapper_started")
    except OSError as exc:
        ctx.journal(f"task {task.task_id[:8]}: cannot start its wrapper: {exc}")
        try:
            ctx.ledger.finish(task.task_id, "failed", supervisor_id=ctx.supervisor_id,
                              error=f"cannot start: {exc.strerror or exc}")
        except StaleOwner as stale:
            # We stalled past our lease and recovery took the claim back (it took the name of
            # our next step, which is why ours failed): nothing was started; not ours to record.
            ctx.journal(f"task {task.task_id[:8]}: {stale}")
        return False
    run.watch_fd = procs.exit_watch_fd(run.pid, run.start)
    runs.add(run)
    ctx.ledger.record_process(task.task_id, ctx.supervisor_id, run.pid, run.start, str(run_dir))
    ctx.journal(f"task {task.task_id[:8]} ({task.label}): claimed, started pid {run.pid}")
    return run.watch_fd is None  # already ended (or no pidfd here): no wake-up will say so
