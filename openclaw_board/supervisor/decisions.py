"""What to do with a run: pure functions from what was seen of it to an action.

Seeing (reading exit files, probing processes, proving a claim never started) has effects
and an order, and lives with the code that applies the action (loop.py, recovery.py,
ownership.py); the choice itself is here, with no I/O, so that it can be read as a table
and tested as one (tests/test_supervisor_decisions.py).

Facts that were not looked at (an earlier one already decided) keep their defaults; each
function checks its facts in the same order as its observer looks, so that holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    # a run we watch
    CHECK_ORPHAN = "check orphan"  # its wrapper died earlier: we stand in for it (watching.check_orphan)
    REPORT = "report"  # still running: send progress and output
    FINISH = "finish"  # an exit file: record the result it holds
    WATCH_ORPHAN = "watch orphan"  # wrapper gone, command alive: watch the command
    CANCELLED = "cancelled"  # we stopped it before its wrapper could record anything
    LOST = "lost"  # nothing left, nothing recorded
    # a run recovery takes over
    START = "start"  # our own claim whose answer we never got: it never started, start it now
    WATCH = "watch"  # its wrapper lives: watch it to the end
    WAIT = "wait"  # a claimant or wrapper may be starting it right now: look again next pass
    REQUEUE = "requeue"  # proved never started: back to the queue, same attempt
    # a run we still watch after we were fenced
    KEEP = "keep"  # re-adopted: still ours
    LET_GO = "let go"  # another live supervisor owns it now, or it ended and was settled
    RECORD_LATE = "record late"  # declared lost, but its run ended: record the result late
    KILL = "kill"  # settled elsewhere while it still runs: kill it


@dataclass(frozen=True)
class Watched:
    """A run in our table, looked at in this order."""

    orphan: bool = False  # we already watch its command (its wrapper died)
    wrapper_alive: bool = False
    exit_recorded: bool = False
    command_alive: bool = False
    stop_sent: bool = False  # we asked it to stop (a cancel)


def decide_watched(f: Watched) -> Action:
    if f.orphan:
        return Action.CHECK_ORPHAN
    if f.wrapper_alive:
        return Action.REPORT
    if f.exit_recorded:
        return Action.FINISH
    if f.command_alive:
        return Action.WATCH_ORPHAN
    if f.stop_sent:
        return Action.CANCELLED
    return Action.LOST


@dataclass(frozen=True)
class Adopted:
    """A running task on this host whose supervisor is gone (or is us), looked at in this order."""

    ours_unstarted: bool = False  # our own claim, no process recorded, no run directory
    exit_recorded: bool = False
    wrapper_alive: bool = False
    command_alive: bool = False
    proof: str | None = None  # recovery.never_started's answer, when a claimant could be judged
    identity_known: bool = False  # a wrapper pid recorded in the ledger or in the run directory
    spec_young: bool = False  # its spec was written less than START_GRACE_S ago


# recovery.never_started's answers (None: it may have started).
NOT_SPAWNED, TAKEN, UNSETTLED = "not spawned", "taken", "wait"


def decide_adopted(f: Adopted) -> Action:
    if f.ours_unstarted:
        return Action.START
    if f.exit_recorded:
        return Action.FINISH
    if f.wrapper_alive:
        return Action.WATCH
    if f.command_alive:
        return Action.WATCH_ORPHAN
    if f.proof == UNSETTLED:
        return Action.WAIT
    if f.proof in (NOT_SPAWNED, TAKEN):
        return Action.REQUEUE
    if not f.identity_known and f.spec_young:
        return Action.WAIT
    return Action.LOST


@dataclass(frozen=True)
class Fenced:
    """A run we watch whose write was refused after we were declared dead, looked at in this order."""

    readopted: bool = False  # our adopt under the new id went through
    status: str | None = None  # the task's status now; None when it is gone
    exit_recorded: bool = False


def decide_fenced(f: Fenced) -> Action:
    if f.readopted:
        return Action.KEEP
    if f.status == "running":
        return Action.LET_GO  # another live supervisor owns it (same-host recovery adopted it)
    if f.exit_recorded:
        return Action.RECORD_LATE if f.status == "lost" else Action.LET_GO
    return Action.KILL
