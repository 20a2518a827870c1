"""Wake-ups over LISTEN/NOTIFY: boards and supervisors hear of commits made by other processes,
and a cancel issued on one "host" reaches the supervisor that owns the run on another."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from cli_support import run_cli
from multihost_support import pid_alive, start_supervisor, stop, wait_for

from openclaw_board.ledger import Ledger, command_spec
from openclaw_board.ledger.notify import ChangeListener, ChangeWatcher


def _cli(url: str, home: Path, *args: str, host: str = "near") -> subprocess.CompletedProcess[str]:
    return run_cli("--db", url, *args, env={"OPENCLAW_BOARD_HOME": str(home), "OPENCLAW_BOARD_HOST": host})


def test_a_commit_by_another_process_wakes_the_listener(pg_url: str, home: Path) -> None:
    with Ledger(pg_url):  # create the schema first, so that the submit below is one commit
        pass
    with ChangeListener(pg_url) as listener:
        assert listener.listening and listener.channel is not None
        assert listener.wait(0.2) is False  # nothing happened
        proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "--db", pg_url, "submit", "--goal", "hi",
                                 "--", "true"], env={**os.environ, "OPENCLAW_BOARD_HOME": str(home)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        woke = listener.wait(30)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert woke is True
        assert listener.wait(0.2) is False  # drained: one commit, one wake-up


def test_writes_that_change_nothing_notify_nobody(pg_url: str) -> None:
    with Ledger(pg_url) as ledger, ChangeListener(pg_url) as listener:
        sup = ledger.register_supervisor("alpha", os.getpid(), None)
        assert listener.wait(2) is True  # a new supervisor is news for boards
        assert ledger.claim_next(sup.supervisor_id, "alpha").task is None
        assert ledger.heartbeat(sup.supervisor_id)
        # An empty claim and a heartbeat: if these notified, idle supervisors would wake each other forever.
        assert listener.wait(0.3) is False
        ledger.submit(command_spec("work", ["true"]))
        assert listener.wait(2) is True


def test_supervisors_listen_for_queued_work_and_cancels_only(pg_url: str) -> None:
    with Ledger(pg_url) as ledger, ChangeListener(pg_url, kinds={"queued", "cancel"}) as listener:
        flow_id, ids = ledger.submit(command_spec("work", ["true"]))
        assert listener.wait(2) is True
        sup = ledger.register_supervisor("alpha", os.getpid(), None)
        task = ledger.claim_next(sup.supervisor_id, "alpha").task
        ledger.report_progress(task.task_id, sup.supervisor_id, progress=10, log_tail="hello\n")
        assert listener.wait(0.3) is False  # claims and progress are for boards, not supervisors
        ledger.cancel_task(task.task_id)
        assert listener.wait(2) is True
        assert ledger.get_task(task.task_id).log_tail == "hello\n"


def test_change_watcher_pokes_the_board_and_sqlite_needs_no_listener(pg_url: str, sqlite_url: str) -> None:
    pokes = threading.Event()
    with Ledger(pg_url) as ledger:
        watcher = ChangeWatcher(pg_url, pokes.set, timeout_s=0.5)
        watcher.start()
        try:
            wait_for("the watcher listens", lambda: watcher.working)
            ledger.submit(command_spec("work", ["true"]))
            assert pokes.wait(30)
        finally:
            watcher.stop()
        assert not watcher.working
    with Ledger(sqlite_url):
        pass
    with ChangeListener(sqlite_url) as listener:
        assert not listener.listening and listener.wait(0.05) is False
    idle = ChangeWatcher(sqlite_url, pokes.set)
    idle.start()  # nothing to listen to: no thread, nothing to stop
    idle.stop()
    assert not idle.working


def test_a_cancel_from_another_host_reaches_the_owning_supervisor(pg_url: str, home: Path) -> None:
    with Ledger(pg_url) as ledger:
        flow_id, ids = ledger.submit(command_spec("long", ["sleep", "60"], label="long"))
        far = start_supervisor(pg_url, "far", home, concurrency=1)
        try:
            task = wait_for("far runs it", lambda: [t for t in ledger.running_on_host("far")
                                                     if t.run_dir and (Path(t.run_dir) / "child").exists()])[0]
            child = int((Path(task.run_dir) / "child").read_text().split()[0])
            done = _cli(pg_url, home, "tasks", "cancel", ids["long"][:8], host="near")
            assert done.returncode == 0, done.stderr
            wait_for("the task ends cancelled", lambda: ledger.get_task(ids["long"]).status == "cancelled",
                     timeout=30)
            assert not pid_alive(child)
        finally:
            journal = stop(far)
        assert "cancel requested" in journal
        assert ledger.get_task(ids["long"]).host == "far"
