"""Watching runs: carrying out cancel requests, and reporting progress and the log tail.

Split from core.py (the loop). `check_cancels` stops the runs an operator asked to stop
(SIGTERM to the wrapper, which stops the command's group; SIGKILL to the group ourselves
when that did not work within the grace period). `report` sends progress, summary and the
latest output (task.log_tail, for boards on other hosts) to the ledger when they changed,
the tail at most every TAIL_EVERY_S and once more at the end.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import procs
from .logs import read_tail
from .runs import Run, child_identity, clean_tail, control_changed

if TYPE_CHECKING:
    from .core import Supervisor

TAIL_EVERY_S = 2.0
TAIL_BYTES = 4096  # the latest output kept in task.log_tail, for boards on other hosts (ledger cap: 16 KiB)
STOP_ESCALATE_S = 5.0  # past kill_grace_s plus this, we kill the group ourselves


def check_cancels(sup: Supervisor) -> None:
    assert sup.ledger is not None and sup.supervisor_id is not None
    for task in sup.ledger.cancel_requests(sup.supervisor_id):
        run = sup.runs.get(task.task_id)
        if run is None:
            continue
        now = time.monotonic()
        if run.stop_sent_at is None:
            run.stop_sent_at = now
            if run.orphan is not None:
                procs.signal_group(run.orphan[0], run.orphan[1], procs.TERM)
            else:
                procs.signal_pid(run.pid, run.start, procs.TERM)  # the wrapper stops the group
            sup.journal(f"task {task.task_id[:8]}: cancel requested, stopping it")
        elif not run.killed and now - run.stop_sent_at > sup.kill_grace_s + (
                0 if run.orphan else STOP_ESCALATE_S):
            # The wrapper did not manage (or is gone): kill the command's group ourselves.
            child = run.orphan or child_identity(run.run_dir)
            if child:
                procs.signal_group(child[0], child[1], procs.KILL)
            run.killed = True
            sup.journal(f"task {task.task_id[:8]}: still running after the grace period, killed")


def report(sup: Supervisor, run: Run, final: dict[str, str] | None = None) -> None:
    """Progress and summary when they changed; the log tail at most every TAIL_EVERY_S."""
    assert sup.ledger is not None
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
    sup.ledger.report_progress(run.task_id, sup.supervisor_id, progress=progress, summary=summary,
                               log_tail=log_tail)
