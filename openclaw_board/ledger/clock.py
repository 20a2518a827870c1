"""Time for the ledger. One injectable clock so that tests and screenshots are reproducible."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# Milliseconds since the Unix epoch, UTC. Every timestamp in the ledger is one of these.
Clock = Callable[[], int]


def _test_skew_ms() -> int:
    """TEST ONLY: OPENCLAW_BOARD_TEST_CLOCK_SKEW_MS shifts this process's wall clock by that many
    ms, to play a host whose clock is wrong (tests/test_lease_clock.py). Unset in real use."""
    try:
        return int(os.environ.get("OPENCLAW_BOARD_TEST_CLOCK_SKEW_MS") or 0)
    except ValueError:
        return 0


_SKEW_MS = _test_skew_ms()


def system_clock() -> int:
    """This machine's wall clock. Timestamps of what happened come from it; leases do not
    (on PostgreSQL they are judged by the database's clock, see ledger/leases.py)."""
    return int(time.time() * 1000) + _SKEW_MS


def fixed_clock(ms: int) -> Clock:
    return lambda: ms


def iso(ms: int | None) -> str | None:
    """ISO 8601 UTC with milliseconds, as every JSON shape in DESIGN.md has it."""
    if ms is None:
        return None
    # time.gmtime and one %-format: twice as fast as datetime + strftime (an f-string with the
    # same fields is only 1.45x), and every `--json` listing formats four of these per row.
    # tests/test_durations.py checks that they agree.
    seconds, millis = divmod(ms, 1000)
    t = time.gmtime(seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (t[0], t[1], t[2], t[3], t[4], t[5], millis)  # noqa: UP031


def parse_time(text: str, now: int) -> int:
    """An ISO time (`2026-11-24T22:41:05Z`, naive means UTC) or a relative one (`-2h`)."""
    from .durations import parse_duration

    text = text.strip()
    if text.startswith("-"):
        return now - int(parse_duration(text[1:]) * 1000)
    if text.lower() == "now":
        return now
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a time: {text!r} (use ISO 8601 or -2h)") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # In whole milliseconds, exactly: timestamp() * 1000 is a float, and 8.149 s became 8148 ms.
    return (dt - _EPOCH) // _ONE_MS


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
