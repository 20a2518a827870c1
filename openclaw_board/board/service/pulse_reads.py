"""The pulse's reads, on the service thread: the last hour once, then only what is new.

A `PulseReader` is made by the UI and then touched only by functions it hands to the
service thread (`Call`): opening reads the span of the last hour (ledger/pulse.py finds it
by the event ids) and the queue's depth; each later read asks for the events past its
cursor, keeps the depth up to date from them and drops what fell out of the hour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ledger import Ledger
from ...ledger.clock import Clock
from ...ledger.pulse import QUEUE, first_event_id_from, pulse_events, queued_by_runtime
from ..view.pulse import MINUTES, Pulse, Transition, bucket, window_start

NOT_OURS = "the pulse reads our ledger's event log; this ledger has none to read"


class PulseReader:
    def __init__(self, clock: Clock, minutes: int = MINUTES) -> None:
        self.clock = clock
        self.minutes = minutes
        self.cursor: int | None = None  # the last event id read; None: not opened yet
        self.seen: list[Transition] = []
        self.queued: dict[str, int] = {}

    def read(self, ledger: Any) -> Pulse:
        """The pulse as of now (first call: the whole hour; later: what is new)."""
        now = self.clock()
        if not isinstance(ledger, Ledger):
            return Pulse(now, self.minutes, note=NOT_OURS)
        start = window_start(now, self.minutes)
        if self.cursor is None:
            upto, self.queued = _depth_at_an_event(ledger)
            self.cursor = first_event_id_from(ledger, start) - 1
            fresh = pulse_events(ledger, self.cursor, upto)  # the depth already counts their moves
        else:
            upto = ledger.last_event_id()
            fresh = pulse_events(ledger, self.cursor, upto)
            for e in fresh:
                self.queued[e.runtime] = self.queued.get(e.runtime, 0) + (e.dst in QUEUE) - (e.src in QUEUE)
        self.cursor = max(self.cursor, upto)
        self.seen = [t for t in self.seen if t.at >= start]
        self.seen += [Transition(e.at, e.runtime, e.src, e.dst) for e in fresh if e.at >= start]
        return bucket(self.seen, self.queued, now, self.minutes)

    def request(self, deliver: Callable[[Pulse], None]) -> Callable[[Any], None]:
        """A function for the service thread (`Call`) that reads and delivers the pulse."""

        def run(ledger: Any) -> None:
            try:
                if ledger is None:
                    raise LookupError("the ledger cannot be read right now")
                pulse = self.read(ledger)
            except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
                pulse = Pulse(self.clock(), self.minutes, note=(str(exc).splitlines() or [type(exc).__name__])[0])
            deliver(pulse)

        return run


def _depth_at_an_event(ledger: Ledger, tries: int = 3) -> tuple[int, dict[str, int]]:
    """(the last event id, the queue's depth per runtime as of that event): read again when an
    event was written between the two reads (a move of the queue always writes one)."""
    upto = ledger.last_event_id()
    for _ in range(tries):
        queued = queued_by_runtime(ledger)
        again = ledger.last_event_id()
        if again == upto:
            break
        upto = again
    return upto, queued
