"""The schedules screen's reads and actions, on the service thread (sent as `Call`s).

Actions are the ledger's own, those `schedules pause/resume/run-now` call
(ledger/schedules.py, ledger/scheduling.py), with the board as their actor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ledger import Ledger
from ...ledger.schedule_rows import last_outcome
from ...ledger.schedule_spec import describe
from ...ledger.scheduling import run_now
from ..view.schedules import Schedules, ScheduleView

NOT_OURS = "schedules live in our own ledger; this one has none"


def read_schedules(ledger: Any) -> Schedules:
    if not isinstance(ledger, Ledger):
        return Schedules(error=NOT_OURS if ledger is not None else "the ledger cannot be read right now")
    rows = ledger.list_schedules()
    return Schedules(tuple(ScheduleView.of(r, describe(r.cron), last_outcome(ledger, r)) for r in rows))


def schedules_request(deliver: Callable[[Schedules], None]) -> Callable[[Any], None]:
    """A function for the service thread that reads every schedule and delivers them."""

    def run(ledger: Any) -> None:
        try:
            answer = read_schedules(ledger)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            answer = Schedules(error=(str(exc).splitlines() or [type(exc).__name__])[0])
        deliver(answer)

    return run


VERBS = ("pause", "resume", "run_now")


def schedule_action(verb: str, schedule_id: str, done: Callable[[bool, str], None],
                    then: Callable[[Any], None]) -> Callable[[Any], None]:
    """A function for the service thread: pause, resume or run the schedule now, report how it
    went (`done(ok, message)`), then `then(ledger)` (the screen's read again)."""
    if verb not in VERBS:
        raise ValueError(f"no schedule action {verb!r}")

    def run(ledger: Any) -> None:
        try:
            if not isinstance(ledger, Ledger):
                raise LookupError(NOT_OURS if ledger is not None else "the ledger cannot be read right now")
            if verb == "pause":
                ledger.pause_schedule(schedule_id, actor="board")
                done(True, f"schedule {schedule_id[:8]} paused")
            elif verb == "resume":
                ledger.resume_schedule(schedule_id, actor="board")
                done(True, f"schedule {schedule_id[:8]} resumed")
            else:
                flow_id = run_now(ledger, schedule_id, actor="board")
                done(True, f"schedule {schedule_id[:8]} fired now: flow {flow_id[:8]}")
        except Exception as exc:  # noqa: BLE001 - refusals (already paused...) are the operator's to read
            done(False, (str(exc).splitlines() or [type(exc).__name__])[0])
        then(ledger)

    return run
