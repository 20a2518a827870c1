"""An idle supervisor starts new work, and stops cancelled work, as soon as the ledger changes:
NOTIFY on PostgreSQL, the ledger file's change (inotify) on SQLite. Its poll is set far longer
than any bound asserted here, so that only the wake-up can meet them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from supervisor_support import one, wait_for

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.notify import QUEUED, RECHECK_FOR_S, FileListener, listener_for
from openclaw_board.supervisor import Supervisor

SLOW_POLL_S = 10.0
BOUND_MS = 3000  # far above a wake-up (a few ms), far below the poll


def idle_supervisor(url: str) -> tuple[Supervisor, threading.Thread]:
    sup = Supervisor(url, concurrency=2, kill_grace_s=0.5, poll_interval_s=SLOW_POLL_S, idle_poll_s=SLOW_POLL_S)
    thread = threading.Thread(target=sup.run)
    thread.start()
    assert sup.ready.wait(30)
    assert sup.listener is not None and sup.listener.listening
    return sup, thread


def test_new_work_wakes_an_idle_supervisor(ledger: Ledger) -> None:
    sup, thread = idle_supervisor(ledger.url)
    try:
        for _ in range(3):
            time.sleep(0.3)  # idle again: its wait has begun
            task_id = one(ledger, {"command": ["true"]})
            task = wait_for(lambda t=task_id: (x := ledger.get_task(t)).status == "succeeded" and x, "the task ran",
                            limit=SLOW_POLL_S * 3)
            assert task.started_at - task.created_at < BOUND_MS
    finally:
        sup.request_stop()
        thread.join(30)


def test_a_cancel_wakes_the_supervisor_of_the_running_task(ledger: Ledger, tmp_path: Path) -> None:
    sup, thread = idle_supervisor(ledger.url)
    try:
        task_id = one(ledger, {"command": ["sh", "-c", 'echo $$ > "$0"; exec sleep 60', str(tmp_path / "pid")]})
        wait_for(lambda: (tmp_path / "pid").exists(), "the command started", limit=SLOW_POLL_S * 3)
        time.sleep(0.3)  # the supervisor waits on its run and the ledger
        asked = time.time() * 1000
        ledger.cancel_task(task_id, actor="test")
        task = wait_for(lambda: (x := ledger.get_task(task_id)).status == "cancelled" and x, "cancelled",
                        limit=SLOW_POLL_S * 3)
        assert task.ended_at - asked < BOUND_MS
    finally:
        sup.request_stop()
        thread.join(30)


def test_the_file_listener_hears_other_connections_not_its_own(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as mine, Ledger(sqlite_url) as other:
        def version() -> int:
            return int(mine.db.execute_sql("PRAGMA data_version").fetchone()[0])

        listener = listener_for(sqlite_url, kinds={QUEUED}, version=version)
        assert isinstance(listener, FileListener) and listener.listening
        with listener:
            one(mine, {"command": ["true"]})  # our own commit: the file changes, the version does not
            end = time.monotonic() + RECHECK_FOR_S * 4
            while time.monotonic() < end:
                assert listener.poll() == set()
                time.sleep(0.005)
            assert listener.recheck_s() is None  # it gave up looking: nothing to wake for
            one(other, {"command": ["true"]})
            assert wait_for(lambda: listener.poll(), "another connection's commit heard", limit=5) == {QUEUED}
            assert listener.poll() == set()  # one commit, one wake-up
