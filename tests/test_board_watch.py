"""The board's file watch sleeps while the ledger is idle and still hears the next commit at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from supervisor_support import one, wait_for

from openclaw_board.board.service.file_watch import ACTIVE_S, FileWatch
from openclaw_board.ledger import Ledger


def switches(native_id: int) -> int:
    """Voluntary context switches of one of our threads: one per wake-up from a sleep."""
    for line in Path(f"/proc/self/task/{native_id}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def test_idle_watch_blocks_and_a_commit_still_pokes(sqlite_url: str, home: Path) -> None:
    pokes: list[float] = []
    poked = threading.Event()

    def poke() -> None:
        pokes.append(time.monotonic())
        poked.set()

    with Ledger(sqlite_url) as ledger:
        watch = FileWatch(Path(sqlite_url.removeprefix("sqlite:///")), poke)
        watch.start()
        try:
            wait_for(lambda: watch.working, "the watch runs")
            tid = watch._thread.native_id
            assert tid is not None
            time.sleep(ACTIVE_S * 2)  # nothing changes: it stops stepping and blocks
            before = switches(tid)
            time.sleep(1.0)
            assert switches(tid) - before <= 3  # stepping every 10 ms would be ~100
            for _ in range(2):
                poked.clear()
                at = time.monotonic()
                one(ledger, {"command": ["true"]})
                assert poked.wait(10)
                assert pokes[-1] - at < 1.0  # heard at once, not on some slow timer
                time.sleep(ACTIVE_S * 2)  # blocks again
        finally:
            watch.stop()
        assert not watch._thread.is_alive() and not watch.working
