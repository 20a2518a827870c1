"""The supervisor's wait between turns: until a run ends, the ledger changes, a stop is
asked for, or the turn's timeout passes, whichever comes first.

What wakes it: each watched wrapper's pidfd (an exit is seen at once), the supervisor's
wake-up pipe (`request_stop`), and its change listener (ledger/notify.py): NOTIFY on
PostgreSQL, the ledger file's change on SQLite. A listener's signal that turns out to be
nothing for us (a change of another kind; on SQLite, a write whose commit the data version
does not show yet, looked at again a moment later) keeps us waiting: only news ends the wait,
so that a busy ledger does not make us run turns for nothing.

Our own commits change the ledger file too. They are made during our turn, never while we
wait, so what the file listener heard by the time we start waiting is settled first
(`settle`): a commit of someone else's that is visible by then ends the wait at once, the
rest was ours.

A file has no kinds: on SQLite every change may be a cancel. While every slot is taken, only
a cancel is news, and a busy ledger (a submitter's burst, other supervisors' commits) would
make us look for cancels at every commit: then we look at most every CANCEL_WAKE_EVERY_S.
"""

from __future__ import annotations

import os
import select
import time
from typing import TYPE_CHECKING

from ..ledger.notify import CANCEL, QUEUED

if TYPE_CHECKING:
    from .loop import Supervisor

CANCEL_WAKE_EVERY_S = 0.02


def wait(sup: Supervisor, timeout: float, quiet: bool = False) -> None:
    """`quiet`: only a stop request ends the wait early (the back-off of a ledger outage)."""
    listener = None if quiet else sup.listener
    deadline = time.monotonic() + timeout
    if listener is not None and _heard(sup, listener.settle()):
        deadline = _when(sup)
        if deadline <= time.monotonic():
            return
    base = [sup._wake_r] + ([] if quiet else [r.watch_fd for r in sup.runs.values() if r.watch_fd is not None])
    while True:
        fds = list(base)
        left = max(0.0, deadline - time.monotonic())
        listen_fd = listener.fileno() if listener is not None else None
        if listen_fd is not None:
            fds.append(listen_fd)
            recheck = listener.recheck_s()  # type: ignore[union-attr]
            if recheck is not None:
                left = min(left, recheck)
        try:
            ready, _, _ = select.select(fds, [], [], left)
        except (OSError, ValueError):
            time.sleep(min(left, 0.05))
            return
        if sup._wake_r in ready:
            try:
                os.read(sup._wake_r, 4096)
            except OSError:
                pass
        # Reads what arrived; while not listening, reconnects at most every second.
        if listener is not None and _heard(sup, listener.poll()):
            deadline = min(deadline, _when(sup))
        if any(fd != listen_fd for fd in ready) or time.monotonic() >= deadline:
            return


def _heard(sup: Supervisor, kinds: set[str]) -> bool:
    """True when what was heard is news for us: a cancel, or work while we have a free slot."""
    if CANCEL in kinds:
        sup._cancel_due = True
    return CANCEL in kinds or (QUEUED in kinds and len(sup.runs) < sup.concurrency)


def _when(sup: Supervisor) -> float:
    """When to end the wait for what was just heard (now, unless it only calls for a look at
    cancels, and we looked a moment ago)."""
    now = time.monotonic()
    if len(sup.runs) < sup.concurrency or now - sup._cancel_woke_at >= CANCEL_WAKE_EVERY_S:
        sup._cancel_woke_at = now
        return now
    return sup._cancel_woke_at + CANCEL_WAKE_EVERY_S
