"""The pulse as data: events of the last hour made into per-minute series, per runtime.

Pure (no Textual, no database): `bucket` takes the transitions the service thread read and
the queue depth now, and answers what the pulse screen draws, so that the rules are tested
on their own and a fixed clock gives a fixed picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...ledger.pulse import QUEUE
from ...ledger.states import TERMINAL_TASK, T

MINUTE_MS = 60_000
MINUTES = 60
ALL = "all runtimes"
FAILED = frozenset({T.FAILED, T.TIMED_OUT, T.LOST})  # failures: not a block or a cancel (decisions)


@dataclass(frozen=True)
class Transition:
    """One task's move, as the pulse needs it (ledger/pulse.py's PulseEvent fits)."""

    at: int
    runtime: str
    src: str | None
    dst: str | None


@dataclass(frozen=True)
class Series:
    """One runtime's last hour, oldest minute first (the last is the minute now running)."""

    runtime: str
    finished: tuple[int, ...]  # tasks that ended in each minute (any terminal status)
    failed: tuple[int, ...]  # of those, failed, timed out or lost
    queued: tuple[int, ...]  # tasks in the queue (ledger.pulse.QUEUE) at the end of each minute (now, for the last)


@dataclass(frozen=True)
class Pulse:
    now: int
    minutes: int = MINUTES
    series: tuple[Series, ...] = ()
    note: str | None = None  # why there is no pulse (a ledger without our event log...)


def window_start(now: int, minutes: int = MINUTES) -> int:
    """The first moment the pulse counts: the start of the minute `minutes - 1` before now's."""
    return (now // MINUTE_MS - (minutes - 1)) * MINUTE_MS


def _delta(t: Transition) -> int:
    """What a transition does to the queue's depth."""
    return (t.dst in QUEUE) - (t.src in QUEUE)


def bucket(transitions: Iterable[Transition], queued_now: Mapping[str, int], now: int,
           minutes: int = MINUTES) -> Pulse:
    """Per-minute series per runtime, over the `minutes` whole minutes up to now's; the depth
    of the queue in each minute is the depth now, undone by the moves that came after it.
    With more than one runtime, their sum comes first as "all runtimes"."""
    start = window_start(now, minutes)
    seen = [t for t in transitions if t.at >= start]
    runtimes = sorted({t.runtime for t in seen} | {r for r, n in queued_now.items() if n})
    out = [_series(rt, [t for t in seen if t.runtime == rt], queued_now.get(rt, 0), start, minutes)
           for rt in runtimes]
    if len(out) > 1:
        out.insert(0, _series(ALL, seen, sum(queued_now.values()), start, minutes))
    return Pulse(now, minutes, tuple(out))


def _series(runtime: str, seen: list[Transition], depth_now: int, start: int, minutes: int) -> Series:
    finished, failed, moves = [0] * minutes, [0] * minutes, [0] * minutes
    for t in seen:
        i = min(minutes - 1, (t.at - start) // MINUTE_MS)  # a writer's clock a little ahead: now's minute
        moves[i] += _delta(t)
        if t.dst in TERMINAL_TASK:
            finished[i] += 1
            failed[i] += t.dst in FAILED
    queued = [0] * minutes
    depth = depth_now
    for i in range(minutes - 1, -1, -1):
        queued[i] = max(0, depth)
        depth -= moves[i]  # the depth at the end of the minute before
    return Series(runtime, tuple(finished), tuple(failed), tuple(queued))
