"""Process identity and signals: a pid is ours only if its start time matches too.

A pid alone can be reused by an unrelated process after ours ended; the start time
(field 22 of /proc/PID/stat, clock ticks since boot) cannot. `alive(pid, start)` is the
only liveness test the supervisor uses, and it never signals a pid that fails it.
"""

from __future__ import annotations

import os
import signal

from .wrapper import start_ticks

__all__ = ["alive", "exit_watch_fd", "self_identity", "signal_group", "signal_pid", "start_ticks"]


def alive(pid: int | None, start: int | None) -> bool:
    """True when `pid` runs now and is the same process (same start time); zombies are dead."""
    if not pid or pid <= 0:
        return False
    now = start_ticks(pid)
    if now is None:
        return False
    return start is None or now == start


def self_identity() -> tuple[int, int | None]:
    pid = os.getpid()
    return pid, start_ticks(pid)


def signal_pid(pid: int | None, start: int | None, sig: int) -> bool:
    """Send `sig` to pid only if it is still the process we mean. True when sent."""
    if not alive(pid, start):
        return False
    try:
        os.kill(pid, sig)  # type: ignore[arg-type]
    except OSError:
        return False
    return True


def signal_group(pgid: int | None, leader_start: int | None, sig: int) -> bool:
    """Signal a process group whose leader we recorded. A group whose leader has gone is
    signalled only when its leader pid is not reused by someone else (our group ids are
    our children's pids: a reused pid would be a new process leading no group of ours)."""
    if not pgid or pgid <= 0:
        return False
    if start_ticks(pgid) is not None and not alive(pgid, leader_start):
        return False  # the pid now belongs to another process
    try:
        os.killpg(pgid, sig)
    except OSError:
        return False
    return True


def exit_watch_fd(pid: int, start: int | None) -> int | None:
    """A pidfd that becomes readable when the process exits (Linux 5.3+), or None.

    Opened first and checked after, so the fd refers to the process we mean."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    if not alive(pid, start):
        os.close(fd)
        return None
    return fd


TERM = signal.SIGTERM
KILL = signal.SIGKILL
