"""Watching runs: cancel requests, orphaned commands, and progress and the log tail.

Split from loop.py. `check_cancels` stops the runs an operator asked to stop
(SIGTERM to the wrapper, which stops the command's group; SIGKILL to the group ourselves
when that did not work within the grace period). `check_orphan` stands in for a wrapper
that died while its command lives on: it enforces the command's timeout and a cancel the
way the wrapper would have (SIGTERM to the group, SIGKILL after the grace), and records
what is known once the command ended. `report` sends progress, summary and the latest
output (task.log_tail, for boards on other hosts) to the ledger when they changed, the
tail at most every TAIL_EVERY_S and once more at the end.
"""

from __future__ import annotations

import time

from . import procs
from .context import Context
from .logs import read_tail
from .outcome import timed_out_error
from .run_table import RunTable
from .rundir import Run, child_identity, clean_tail, control_changed, read_spec
from .wrapper import usable_seconds

TAIL_EVERY_S = 2.0
TAIL_BYTES = 4096  # the latest output kept in task.log_tail, for boards on other hosts (ledger cap: 16 KiB)
STOP_ESCALATE_S = 5.0  # past kill_grace_s plus this, we kill the group ourselves


def check_cancels(ctx: Context, runs: RunTable) -> None:
    for task in ctx.ledger.cancel_requests(ctx.supervisor_id):
        run = runs.get(task.task_id)
        if run is None:
            continue
        now = time.monotonic()
        if run.stop_sent_at is None:
            run.stop_sent_at = now
            if run.orphan is not None:
                _stop_orphan(run, "cancel", now)  # check_orphan escalates and records it
            else:
                procs.signal_pid(run.pid, run.start, procs.TERM)  # the wrapper stops the group
            ctx.journal(f"task {task.task_id[:8]}: cancel requested, stopping it")
        elif run.orphan is None and not run.killed and now - run.stop_sent_at > ctx.kill_grace_s + STOP_ESCALATE_S:
            # The wrapper did not manage: kill the command's group ourselves.
            child = child_identity(run.run_dir, run.pid)
            if child:
                procs.signal_group(child[0], child[1], procs.KILL)
            run.killed = True
            ctx.journal(f"task {task.task_id[:8]}: still running after the grace period, killed")


def check_orphan(ctx: Context, runs: RunTable, run: Run) -> None:
    """A command whose wrapper died: enforce its timeout (counted from the command's own start)
    and a cancel, as the wrapper would have; once it has ended, tell the ledger what is known:
    `timed_out` or `cancelled` when we stopped it, else `lost` (its exit code went with its
    wrapper)."""
    assert run.orphan is not None
    now = time.monotonic()
    pgid, start = run.orphan
    if run.orphan_limits is None:
        _first_look(ctx, run, now)
    leader = procs.alive(pgid, start)
    if not leader and run.watch_fd is not None:
        run.close()  # its pidfd stays readable now: it would wake the loop over and over
    deadline, grace = run.orphan_limits or (None, ctx.kill_grace_s)
    ref = f"task {run.task_id[:8]}"
    if run.stop_sent_at is None:
        if leader and deadline is not None and now >= deadline:
            run.stop_sent_at = now
            _stop_orphan(run, "timeout", now)
            ctx.journal(f"{ref}: past its timeout with its wrapper gone: stopping command pid {pgid} ourselves")
        elif not leader:
            runs.drop(run.task_id)
            ctx.ledger.mark_lost(run.task_id, "its wrapper died; the command ended with no recorded result",
                                 actor=ctx.actor, supervisor_id=ctx.supervisor_id)
            ctx.journal(f"{ref}: lost (orphaned command ended, no result)")
        return
    if procs.group_alive(pgid) and now - run.stop_sent_at < grace:
        return  # stopping: give it its grace period
    if procs.signal_group(pgid, start, procs.KILL):
        ctx.journal(f"{ref}: still running {grace:g}s after SIGTERM, killed its group")
    runs.drop(run.task_id)
    if run.stop_reason == "timeout":
        limit = usable_seconds(read_spec(run.run_dir).get("timeout_s"))
        status, error = "timed_out", f"{timed_out_error(limit)} (its wrapper had died; the supervisor stopped it)"
    else:
        status, error = "cancelled", "cancelled by operator"
    ctx.ledger.finish(run.task_id, status, supervisor_id=ctx.supervisor_id, error=error)
    ctx.journal(f"{ref}: {status} ({error})")


def _first_look(ctx: Context, run: Run, now: float) -> None:
    """Watch the command rather than its dead wrapper; work out when its timeout falls due."""
    assert run.orphan is not None
    pgid, start = run.orphan
    run.close()
    run.watch_fd = procs.exit_watch_fd(pgid, start)
    spec = read_spec(run.run_dir)
    timeout = usable_seconds(spec.get("timeout_s"))
    age = procs.age_s(start) if start is not None else None
    deadline = now + max(0.0, timeout - (age or 0.0)) if timeout is not None else None
    grace = usable_seconds(spec.get("kill_grace_s"), zero_ok=True)
    run.orphan_limits = (deadline, ctx.kill_grace_s if grace is None else grace)
    if run.stop_sent_at is not None and run.stop_reason is None:
        _stop_orphan(run, "cancel", now)  # our SIGTERM went to the wrapper, which died: the group never heard


def _stop_orphan(run: Run, why: str, now: float) -> None:
    assert run.orphan is not None
    run.stop_reason, run.stop_sent_at = why, now
    procs.signal_group(run.orphan[0], run.orphan[1], procs.TERM)


def report(ctx: Context, run: Run, final: dict[str, str] | None = None) -> None:
    """Progress and summary when they changed; the log tail at most every TAIL_EVERY_S."""
    kv = final if final is not None else control_changed(run)
    now = time.monotonic()
    progress = summary = log_tail = None
    if kv is not None:
        try:
            value = float(kv["progress"]) if kv.get("progress") else None
        except ValueError:
            value = None
        if value is not None and value != run.progress:
            progress = run.progress = value
        text = kv.get("summary") or None
        if text is not None and text != run.summary:
            summary = run.summary = text
        written = int(kv["bytes"]) if (kv.get("bytes") or "").isdigit() else 0
        if written != run.tail_bytes and (final is not None or now - run.tail_at >= TAIL_EVERY_S):
            log_tail = clean_tail(read_tail(run.run_dir, TAIL_BYTES), cut=written > TAIL_BYTES)
            run.tail_bytes, run.tail_at = written, now
    if progress is None and summary is None and log_tail is None:
        return
    ctx.ledger.report_progress(run.task_id, ctx.supervisor_id, progress=progress, summary=summary,
                               log_tail=log_tail)
