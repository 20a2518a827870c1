"""The board in a real pseudo-terminal survives a bare SIGCONT (one it was never stopped for).

Textual's Linux driver resumes application mode on every SIGCONT, so a SIGCONT that follows
no suspension (a SIGSTOP it cannot see, a stray `kill -CONT`) started application mode a
second time: the alternate screen entered twice, a second thread reading keys. The board's
driver resumes only after its own suspension (board/driver.py).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ lives beside tests/, not installed

from bench.board import PtyProcess  # noqa: E402
from bench.common import bench_env, cli  # noqa: E402
from openclaw_board.ledger import Ledger, command_spec  # noqa: E402

ALT_SCREEN = b"\x1b[?1049h"  # what entering application mode writes first


def _exit_code(proc: PtyProcess, seconds: float) -> int | None:
    import time

    end = time.time() + seconds
    while time.time() < end:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    return None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and ptys")
def test_a_bare_sigcont_leaves_one_board_that_answers_each_key_once(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        ledger.submit(command_spec("nightly backup", ["true"]))
    board = PtyProcess(cli("--db", sqlite_url, "board", "--no-supervise"), bench_env(home), cols=100, rows=30)
    code = None
    try:
        board.wait_for(re.compile(rb"Flow pressure"), 0, 30)
        board.quiet(0.3, 5)
        os.kill(board.pid, signal.SIGCONT)  # no SIGSTOP before it
        board.quiet(0.3, 5)
        assert bytes(board.buf).count(ALT_SCREEN) == 1, "application mode was started again on a bare SIGCONT"
        # Each key is handled once: `?` opens the help, `q` closes it (not the board), `q` quits.
        since = board.size
        os.write(board.fd, b"?")
        board.wait_for(re.compile(rb"inspect the flow or task"), since, 10)
        board.quiet(0.3, 5)
        os.write(board.fd, b"q")
        board.quiet(0.5, 5)
        assert _exit_code(board, 0.5) is None, "one q closed the help and quit the board"
        os.write(board.fd, b"q")
        code = _exit_code(board, 5)
        assert code == 0, f"the board did not quit by itself on q (exit {code})"
    finally:
        if code is None:
            board.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and ptys")
def test_the_soaks_board_quits_by_itself_on_q_after_a_stop_and_a_continue(sqlite_url: str, home: Path) -> None:
    """The soak's Board actor (its embedded supervisor included), stopped and continued as the
    chaos does: its shutdown presses Esc, Esc, q and judges that the board exits 0 by itself."""
    import time

    from bench.soak_record import Record
    from bench.soak_world import Board

    with Ledger(sqlite_url) as ledger:
        ledger.submit(command_spec("nightly backup", ["true"]))
    board = Board("board", "alpha", sqlite_url, home, Record())
    board.start()
    try:
        assert board.pty is not None
        board.pty.wait_for(re.compile(rb"Flow pressure"), 0, 30)
        board.signal(signal.SIGSTOP)
        time.sleep(0.3)
        board.signal(signal.SIGCONT)
        board.pty.quiet(0.3, 5)
        assert board.shutdown(), f"the board did not quit by itself on q: it ended {board.last_code}"
        assert board.last_code == 0
    finally:
        if board.poll() is None:
            board.kill()
