"""A pid is ours only with its start time: the supervisor never signals a stranger that took a pid.

Pid reuse cannot be forced, so each test stands a real stranger (a process that leads its own
group and session, as every command and wrapper of ours does) where a reused pid would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw_board.supervisor import procs
from openclaw_board.supervisor.rundir import child_identity
from openclaw_board.supervisor.wrapper import WRAPPER_FILE


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A process leading its own session, with a child leading a group of that session: the shape
    of a wrapper and its command."""
    proc = subprocess.Popen([sys.executable, "-c", "import subprocess, time; "
                             "subprocess.Popen(['sleep', '60'], process_group=0); time.sleep(60)"],
                            start_new_session=True)
    deadline = time.monotonic() + 10
    while procs.session_command(proc.pid) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    command = procs.session_command(proc.pid)
    assert command is not None
    yield proc
    for pgid in (command[0], proc.pid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)


def test_a_group_whose_running_leader_has_an_unknown_start_is_not_signalled(stranger) -> None:
    assert procs.signal_group(stranger.pid, None, signal.SIGTERM) is False
    assert procs.signal_group(stranger.pid, 12345, signal.SIGTERM) is False  # another start: another process
    time.sleep(0.2)
    assert stranger.poll() is None


def test_a_group_whose_leader_is_the_one_recorded_is_signalled(stranger) -> None:
    assert procs.signal_group(stranger.pid, procs.start_ticks(stranger.pid), signal.SIGTERM) is True
    assert stranger.wait(10) == -signal.SIGTERM


def test_a_dead_wrappers_pid_taken_by_another_session_leader_names_no_command(stranger, tmp_path: Path) -> None:
    # Our wrapper (recorded with another start time) is gone; a stranger leads a session under its pid.
    (tmp_path / WRAPPER_FILE).write_text(f"{stranger.pid} {procs.start_ticks(stranger.pid) - 1}\n")
    assert child_identity(tmp_path) is None
    # The same session, recorded as our wrapper's, is ours: its command is found.
    (tmp_path / WRAPPER_FILE).write_text(f"{stranger.pid} {procs.start_ticks(stranger.pid)}\n")
    found = child_identity(tmp_path)
    assert found is not None and found[0] != stranger.pid
