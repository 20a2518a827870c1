"""Process identity and signals: a pid is ours only if its start time matches too.

A pid alone can be reused by an unrelated process after ours ended; the start time
(field 22 of /proc/PID/stat, clock ticks since boot) cannot. `alive(pid, start)` is the
only liveness test the supervisor uses, and it never signals a pid that fails it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

from .wrapper import start_ticks

__all__ = ["age_s", "alive", "exit_watch_fd", "group_alive", "own_child_start", "self_identity", "session_command",
           "signal_group", "signal_pid", "start_ticks"]


def alive(pid: int | None, start: int | None) -> bool:
    """True when `pid` runs now and is the same process (same start time); zombies are dead."""
    if not pid or pid <= 0:
        return False
    now = start_ticks(pid)
    if now is None:
        return False
    return start is None or now == start


def own_child_start(child: subprocess.Popen[bytes]) -> int | None:
    """Start ticks of a process we started and have not reaped, even if it has already ended.

    Until we reap it, a zombie keeps its /proc entry and its pid, so this read cannot race
    its exit (it did: a wrapper that ended before we looked read as gone, and the run's
    start time was never recorded)."""
    if child.returncode is not None:
        return None
    return start_ticks(child.pid, zombie_ok=True)


def group_alive(pgid: int) -> bool:
    """True while a process of group `pgid` runs. Zombies do not count: they have ended, but
    `kill(-pgid, 0)` still finds them until their parent (often init, which may take
    seconds) reaps them."""
    if not pgid or pgid <= 0:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(state != "Z" and pgrp == pgid for _pid, state, pgrp, _sid in _processes())


def session_command(sid: int) -> tuple[int, int | None] | None:
    """The command a wrapper started, found without its `child` file (a full disk, or the
    wrapper killed before it wrote it): the leader of the other process group in the
    wrapper's session `sid` (the wrapper leads the session; the command leads its group)."""
    for pid, state, pgrp, session in _processes():
        if session == sid and pid == pgrp != sid and state != "Z":
            return pid, start_ticks(pid)
    return None


def _processes() -> Iterator[tuple[int, str, int, int]]:
    """(pid, state, process group, session) of every process we can see."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        rest = data[data.rfind(b")") + 2:].split()
        if len(rest) >= 4:
            yield int(name), rest[0].decode(), int(rest[2]), int(rest[3])


def age_s(start: int) -> float | None:
    """Seconds since a process with these start ticks started (both counted from boot)."""
    try:
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - start / os.sysconf("SC_CLK_TCK"))


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
    """Signal a process group whose leader we recorded.

    While the leader runs, it must be the process we recorded: with its start time unknown
    we cannot tell it from a stranger that took the pid (and leads a group of its own, as
    every command we start does), so nothing is sent. Once the leader is gone (or a zombie),
    the group id cannot have been reused: the kernel keeps a pid allocated while any process
    still uses it as its group id, so whoever is left in the group is ours."""
    if not pgid or pgid <= 0:
        return False
    if start_ticks(pgid) is not None and (leader_start is None or not alive(pgid, leader_start)):
        return False  # the pid may belong to another process now
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
