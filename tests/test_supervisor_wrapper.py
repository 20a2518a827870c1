"""The wrapper keeps a run's result whatever it is given and whatever the disk does.

- any timeout or grace is safe: 25 days once overflowed poll() and the run became `lost`;
- a full disk loses output, never the exit code: its `exit` file is written into room set
  aside when the run started (tested on a real tmpfs that fills up, and, where mounting is
  not allowed, on files that are /dev/full);
- the supervisor records a wrapper's start time even when the wrapper has already ended
  by the time it looks (it read a zombie as "no start time").
"""

from __future__ import annotations

import marshal
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from supervisor_support import one, wait_for
from tmpfs_support import fill, small_tmpfs

from openclaw_board.ledger import Ledger
from openclaw_board.paths import run_dir_of
from openclaw_board.supervisor import Supervisor, procs
from openclaw_board.supervisor.logs import read_log
from openclaw_board.supervisor.rundir import start_wrapper
from openclaw_board.supervisor.wrapper import read_kv


def wrapper_run(run_dir: Path, command: list[str], **spec: object) -> subprocess.Popen[bytes]:
    """The wrapper started on `run_dir` as the supervisor starts it (room for `exit` included)."""
    run_dir.mkdir(mode=0o700, exist_ok=True)
    (run_dir / "spec").write_bytes(marshal.dumps({"command": command, "shell": False, **spec}))
    return start_wrapper(run_dir, dict(os.environ))


def finished(run_dir: Path, wrapper: subprocess.Popen[bytes]) -> dict[str, str]:
    assert wrapper.wait(60) == 0, (run_dir / "wrapper.err").read_text()
    assert (run_dir / "wrapper.err").read_text() == ""
    kv = read_kv(str(run_dir / "exit"))
    assert kv is not None, "no exit file"
    return kv


# -- any timeout ------------------------------------------------------------------------

@pytest.mark.parametrize("timeout_s,enforced", [
    (25 * 86400.0, "2160000.0"), (365 * 86400.0, "31536000.0"), (1e300, "1e+300"),
    (float("inf"), ""), (float("nan"), ""), (-5.0, ""), (0, ""), ("x", ""),  # none: what it could not enforce
])
@pytest.mark.parametrize("grace", [5.0, 1e300, float("inf"), float("nan")])
def test_any_timeout_or_grace_leaves_a_true_exit(tmp_path: Path, timeout_s: object, enforced: str,
                                                 grace: object) -> None:
    kv = finished(tmp_path, wrapper_run(tmp_path, ["sh", "-c", "echo out; exit 7"], timeout_s=timeout_s,
                                        kill_grace_s=grace))
    assert (kv["exit_code"], kv["reason"], kv["timeout_s"]) == ("7", "", enforced)


def test_a_stop_under_a_huge_timeout_and_grace(tmp_path: Path) -> None:
    wrapper = wrapper_run(tmp_path, ["sh", "-c", 'echo $$ > "$0"; exec sleep 30', str(tmp_path / "pid")],
                          timeout_s=1e300, kill_grace_s=1e300)
    pid = int(wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text().strip(), "started"))
    wrapper.send_signal(signal.SIGTERM)
    kv = finished(tmp_path, wrapper)
    assert (kv["reason"], kv["signal"], kv["exit_code"]) == ("stop", str(signal.SIGTERM), "")
    assert procs.start_ticks(pid) is None


def test_a_25_day_timeout_runs_through_the_supervisor(ledger: Ledger) -> None:
    task_id = one(ledger, {"command": ["sh", "-c", "sleep 0.2; exit 0"], "timeout": "25d"})
    Supervisor(ledger.url, concurrency=1, poll_interval_s=0.05).run(until_idle=True)
    t = ledger.get_task(task_id)
    assert (t.status, t.exit_code, t.error) == ("succeeded", 0, None)  # it was `lost`: the wrapper crashed


# -- a full disk --------------------------------------------------------------------------

LOUD = "head -c 300000 /dev/zero | tr '\\0' x; echo; echo '::summary wrote a lot'; exit 7"


@pytest.mark.parametrize("cap", [8 << 20, 16384], ids=["one-log-file", "tail-segments"])
def test_a_full_disk_under_runs_keeps_the_exit_code(sqlite_url: str, home: Path, tmp_path: Path, cap: int) -> None:
    """runs/ on a 64 KiB tmpfs: the output fills it (the head file, or rotating tail segments
    too); the result is still recorded truthfully. The next task finds the disk full at its
    start and fails saying so, without running."""
    marker = tmp_path / "second-ran"
    with small_tmpfs(home / "runs", "64k"), Ledger(sqlite_url) as ledger:
        loud = one(ledger, {"command": ["sh", "-c", LOUD]})
        Supervisor(sqlite_url, concurrency=1, poll_interval_s=0.05, head_cap=cap, tail_cap=cap).run(until_idle=True)
        t = ledger.get_task(loud)
        assert (t.status, t.exit_code, t.error) == ("failed", 7, "exit 7")  # it was `lost`
        kv = read_kv(str(run_dir_of(t) / "exit"))
        assert int(kv["bytes"]) == 300_000 + len("\n::summary wrote a lot\n")
        assert int(kv["log_lost"]) > 200_000 and kv["log_error"] == "No space left on device"
        if cap > 300_000:  # one file: it holds exactly what was not lost
            assert len(read_log(run_dir_of(t))) == int(kv["bytes"]) - int(kv["log_lost"])
        else:  # the head, then segments of exactly `cap` bytes each (the last one filling)
            assert (run_dir_of(t) / "output.log").stat().st_size == cap
            assert read_log(run_dir_of(t)).startswith(b"x" * cap)

        fill(home / "runs")
        second = one(ledger, {"command": ["touch", str(marker)]})
        Supervisor(sqlite_url, concurrency=1, poll_interval_s=0.05).run(until_idle=True)
        t = ledger.get_task(second)
        assert (t.status, t.exit_code, t.error) == ("failed", None, "cannot start: No space left on device")
        assert not marker.exists()


def test_files_that_refuse_every_write_lose_output_not_the_result(tmp_path: Path) -> None:
    """Without root: every file the wrapper writes but `exit` is /dev/full (ENOSPC on each write)."""
    for name in ("output.log", "wrapper.tmp", "child.tmp", "control.tmp", "exit.tmp"):
        (tmp_path / name).symlink_to("/dev/full")
    kv = finished(tmp_path, wrapper_run(tmp_path, ["sh", "-c", "echo '::progress 50 half'; exit 7"]))
    assert (kv["exit_code"], kv["progress"], kv["summary"]) == ("7", "50.0", "half")
    assert kv["log_lost"] == kv["bytes"] == str(len("::progress 50 half\n"))
    assert kv["log_error"] == "No space left on device"


# -- the start time of a wrapper that ended at once ---------------------------------------------

def test_a_zombie_child_still_has_its_start_time() -> None:
    child = subprocess.Popen(["sleep", "0.05"])
    ticks = procs.start_ticks(child.pid)
    assert ticks is not None
    wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z", "a zombie")
    assert procs.start_ticks(child.pid) is None  # gone, as a liveness test says
    assert procs.own_child_start(child) == ticks  # but it is ours, not reaped: its start time holds
    child.wait()
    assert procs.own_child_start(child) is None


def test_every_quick_task_gets_its_start_time_recorded(sqlite_url: str) -> None:
    """A thread that holds the GIL for long stretches makes the supervisor look at each wrapper
    late, after a `true` wrapper has often ended: its start time must be recorded all the same."""
    with Ledger(sqlite_url) as ledger:
        ids = [one(ledger, {"command": ["true"]}) for _ in range(12)]
        stop = threading.Event()

        def hog() -> None:
            while not stop.is_set():
                sum(range(200_000))

        old = sys.getswitchinterval()
        sys.setswitchinterval(0.05)
        thread = threading.Thread(target=hog, daemon=True)
        thread.start()
        try:
            Supervisor(sqlite_url, concurrency=2, poll_interval_s=0.05).run(until_idle=True)
        finally:
            stop.set()
            thread.join(30)
            sys.setswitchinterval(old)
        for task_id in ids:
            t = ledger.get_task(task_id)
            assert t.status == "succeeded" and t.pid and t.pid_start, (t.status, t.pid, t.pid_start)


def test_the_wrapper_notes_when_output_came(tmp_path: Path) -> None:
    """`output.times`: `SEG OFFSET MS` at the first output of each second (the board's log
    view shows it per line), where the bytes really went: head, then tail segments."""
    import time

    before = int(time.time() * 1000)
    script = "printf 'aaaa\\n'; sleep 1.2; printf 'bbbbbbbb\\n'; sleep 1.2; printf 'cc\\n'"
    kv = finished(tmp_path, wrapper_run(tmp_path, ["sh", "-c", script], head_cap=8, tail_cap=4))
    assert kv["exit_code"] == "0"
    rows = [line.split() for line in (tmp_path / "output.times").read_text().splitlines()]
    # 5 bytes in the head; 9 more: 3 fill the head, 4 fill segment 1, 2 start segment 2
    assert [(int(seg), int(off)) for seg, off, _ in rows] == [(0, 0), (0, 5), (2, 2)]
    assert before <= int(rows[0][2]) <= int(rows[1][2]) - 1000 <= int(rows[2][2]) - 2000
    assert stat_mode(tmp_path / "output.times") == 0o600


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_times_stop_at_their_cap_and_say_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openclaw_board.supervisor import capture

    monkeypatch.setattr(capture, "MAX_TIMES_BYTES", 120)
    times = capture.Times(str(tmp_path / "output.times"))
    for s in range(50):
        times.note((0, s * 10), 1_700_000_000 + s + 0.5)
        times.note((0, s * 10 + 5), 1_700_000_000 + s + 0.7)  # the same second: not noted
    lines = (tmp_path / "output.times").read_text().splitlines()
    assert len((tmp_path / "output.times").read_bytes()) <= 120
    assert lines[0] == "0 0 1700000000500" and lines[1] == "0 10 1700000001500"
    assert lines[-1] == f"- 0 {(len(lines) - 1) * 10}" and all(len(line.split()) == 3 for line in lines[:-1])
