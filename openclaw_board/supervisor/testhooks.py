"""TEST ONLY: stop the supervisor at an exact point of starting a task, so that a test can
kill -9 it there (a claim whose command never started must be requeued, not lost).

`OPENCLAW_BOARD_TEST_PAUSE_AT=<point>` makes the supervisor SIGSTOP itself the first time it
reaches that point; the test then sends SIGKILL (or SIGCONT). Points, in order:
`claimed` (the claim committed, nothing on disk yet), `spec_written` (the run directory and
its spec exist, no wrapper started), `exit_reserved` (its `exit.reserve` too, the forker not
asked yet), `wrapper_started` (the wrapper runs, its pid is not recorded yet). Unset in real
use: then `pause_at` does nothing.
"""

from __future__ import annotations

import os
import signal

_POINT = os.environ.get("OPENCLAW_BOARD_TEST_PAUSE_AT") or None
_done = False


def pause_at(point: str) -> None:
    global _done
    if _POINT is None or _done or point != _POINT:
        return
    _done = True
    os.kill(os.getpid(), signal.SIGSTOP)
