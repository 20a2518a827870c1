"""Wrappers forked by the supervisor's forker (supervisor/forker.py): real processes, real kills.

What must hold whatever happens to the forker: a run it forked is a session of its own that
outlives the forker and the supervisor; its exit code is recorded by whoever watches next;
and the next task gets a new forker.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

from supervisor_support import one, wait_for

from openclaw_board.ledger import Ledger
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.logs import run_dir_of
from openclaw_board.supervisor.procs import alive, start_ticks

# Writes its pid, then waits for a gate file, then exits with a chosen code.
GATED = 'echo $$ > "$0.pid"; while [ ! -e "$0" ]; do sleep 0.02; done; exit "$1"'


def gated(gate: Path, code: int) -> dict:
    return {"command": ["sh", "-c", GATED, str(gate), str(code)]}


def ppid_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return int(fh.read().rsplit(b")", 1)[1].split()[1])


def sid_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return int(fh.read().rsplit(b")", 1)[1].split()[3])


def forker_of(pid: int) -> int | None:
    """The forker child of the supervisor process `pid`, if it has one."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if ppid_of(int(name)) != pid:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                if b"forker.main" in fh.read():
                    return int(name)
        except OSError:
            continue
    return None


def supervisor_thread(url: str) -> tuple[Supervisor, threading.Thread]:
    sup = Supervisor(url, concurrency=2, kill_grace_s=0.5, poll_interval_s=0.05)
    thread = threading.Thread(target=sup.run)
    thread.start()
    assert sup.ready.wait(30)
    return sup, thread


def test_a_forked_wrapper_is_a_session_of_its_own_with_the_task_environment(
        ledger: Ledger, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    task_id = one(ledger, {"command": ["sh", "-c", 'echo "$PWD $SPECIAL" > "$0"; echo $PPID >> "$0"', str(out)],
                           "env": {"SPECIAL": "from-the-spec"}})
    gate = tmp_path / "gate"
    sup, thread = supervisor_thread(ledger.url)
    try:
        wait_for(lambda: ledger.get_task(task_id).status == "succeeded", "the task ran")
        forker = sup.spawner.forker_pid()
        assert forker is not None and sup.spawner.started == 1
        t = ledger.get_task(task_id)
        first, wrapper_pid = out.read_text().splitlines()
        assert first == f"{os.getcwd()} from-the-spec"  # our working directory, the task's environment
        assert int(wrapper_pid) == t.pid
        # Its files: in the private state directory, private; no socket on disk.
        err = home / "forker.err"
        assert stat.S_IMODE(err.stat().st_mode) == 0o600 and stat.S_IMODE(home.stat().st_mode) == 0o700
        assert not [p for p in home.iterdir() if p.is_socket()]
        # A second task: the same forker forks it, in a session of its own.
        second = one(ledger, gated(gate, 0), goal="second")
        pid = int(wait_for(lambda: Path(f"{gate}.pid").exists() and Path(f"{gate}.pid").read_text().strip(),
                           "the second command started"))
        wrapper = wait_for(lambda: ledger.get_task(second).pid, "its wrapper recorded")
        assert ppid_of(wrapper) == forker and sid_of(wrapper) == wrapper and sid_of(pid) == wrapper
        with open(f"/proc/{wrapper}/cmdline", "rb") as fh:
            assert b"wrapper.main" in fh.read()  # `ps` tells it for what it is
        gate.touch()
        wait_for(lambda: ledger.get_task(second).status == "succeeded", "the second task ran")
        assert sup.spawner.started == 1
    finally:
        gate.touch()  # a failed assertion leaves no command waiting
        sup.request_stop()
        thread.join(30)
    wait_for(lambda: start_ticks(forker) is None, "the forker left with its supervisor")


def test_kill_9_of_the_forker_mid_run_the_run_is_recorded_and_a_new_forker_starts(
        ledger: Ledger, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    task_id = one(ledger, gated(gate, 7))
    sup, thread = supervisor_thread(ledger.url)
    try:
        wait_for(lambda: Path(f"{gate}.pid").exists(), "the command started")
        first = sup.spawner.forker_pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: start_ticks(first) is None, "the forker died")
        t = ledger.get_task(task_id)
        assert t.status == "running" and alive(t.pid, t.pid_start)  # the wrapper outlived its forker
        gate.touch()
        t = wait_for(lambda: (x := ledger.get_task(task_id)).status == "failed" and x, "the run recorded")
        assert t.exit_code == 7
        # The next task gets a new forker.
        nxt = one(ledger, {"command": ["true"]}, goal="next")
        wait_for(lambda: ledger.get_task(nxt).status == "succeeded", "the next task ran")
        second = sup.spawner.forker_pid()
        assert second is not None and second != first and sup.spawner.started == 2
        assert "forker restarted" in (Path(sup.state) / "supervisor.log").read_text()
    finally:
        gate.touch()
        sup.request_stop()
        thread.join(30)


def test_kill_9_of_supervisor_and_forker_a_new_supervisor_records_the_exit_code(
        ledger: Ledger, home: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    task_id = one(ledger, gated(gate, 5))
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "--db", ledger.url, "supervise", "--quiet",
                             "--kill-grace", "0.5s"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            wait_for(lambda: Path(f"{gate}.pid").exists() and ledger.get_task(task_id).pid, "the command started")
            forker = forker_of(proc.pid)
            assert forker is not None
            t = ledger.get_task(task_id)
            assert ppid_of(t.pid) == forker  # forked, not started by exec
            os.kill(forker, signal.SIGKILL)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(30)
        wait_for(lambda: start_ticks(forker) is None, "the forker died")
        assert alive(t.pid, t.pid_start)  # the wrapper lives on, adopted by init
    finally:
        gate.touch()
    wait_for(lambda: (run_dir_of(ledger.get_task(task_id)) / "exit").exists(), "the run ended unwatched")
    Supervisor(ledger.url, concurrency=2, kill_grace_s=0.5, poll_interval_s=0.05).run(until_idle=True)
    t = ledger.get_task(task_id)
    assert (t.status, t.exit_code) == ("failed", 5)
    assert "adopted" in [e.kind for e in ledger.task_events(task_id)]


def test_without_a_forker_wrappers_start_by_exec(ledger: Ledger, tmp_path: Path) -> None:
    task_id = one(ledger, {"command": ["sh", "-c", "exit 3"]})
    sup = Supervisor(ledger.url, kill_grace_s=0.5, poll_interval_s=0.05, use_forker=False)
    assert sup.run(until_idle=True) == 0
    t = ledger.get_task(task_id)
    assert (t.status, t.exit_code) == ("failed", 3) and sup.spawner.started == 0


def test_the_task_environment_follows_ours_between_tasks(ledger: Ledger, tmp_path: Path,
                                                         monkeypatch) -> None:
    """The part of a task's environment that comes from ours is worked out once, and again
    whenever ours changed (spawn.Spawner.environment)."""
    monkeypatch.setenv("LC_OCB_PERF", "one")
    monkeypatch.setenv("OCB_PERF_NAMED", "named")
    sup, thread = supervisor_thread(ledger.url)
    try:
        seen = []
        for i, value in enumerate(("one", "two", "two")):
            monkeypatch.setenv("LC_OCB_PERF", value)
            out = tmp_path / f"out{i}"
            script = 'echo "$LC_OCB_PERF/$OCB_PERF_NAMED/$MINE" > "$0"'
            named = {"env_passthrough": ["OCB_PERF_NAMED"]} if i == 2 else {}
            task_id = one(ledger, {"command": ["sh", "-c", script, str(out)], "env": {"MINE": "mine"}, **named},
                          goal=f"g{i}")
            wait_for(lambda t=task_id: ledger.get_task(t).status == "succeeded", "the task ran")
            seen.append(out.read_text().strip())
        assert seen == ["one//mine", "two//mine", "two/named/mine"]
    finally:
        sup.request_stop()
        thread.join(30)


def test_a_wrapper_whose_supervisor_died_before_its_answer_still_runs(ledger: Ledger, home: Path,
                                                                      tmp_path: Path) -> None:
    """The supervisor asks its forker and dies before the answer: the forked wrapper cannot
    answer (a broken pipe) and must run all the same, so that the next supervisor finds it
    running or ended, never a run that vanished (the chaos soak found it calling such runs lost)."""
    import marshal

    from openclaw_board.supervisor.rundir import write_spec
    from openclaw_board.supervisor.spawn import Spawner
    from openclaw_board.supervisor.wrapper import reserve_exit

    out = tmp_path / "ran"
    one(ledger, {"command": ["sh", "-c", 'echo ran > "$0"', str(out)]})
    sup = ledger.register_supervisor("h", os.getpid(), None)
    task = ledger.claim_next(sup.supervisor_id, "h").task
    run_dir = home / "runs" / task.task_id
    run_dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    run_dir.mkdir(mode=0o700)
    spawner = Spawner(home)
    env = spawner.environment(ledger.env_of(task), passthrough=(), ledger_url=ledger.url)
    write_spec(run_dir, task, ledger.command_of(task), env, kill_grace_s=0.5, head_cap=1 << 20, tail_cap=1 << 20)
    reserve_exit(str(run_dir))
    assert spawner._ready() and spawner.sock is not None
    spawner.sock.send(marshal.dumps({"run_dir": str(run_dir), "cwd": str(tmp_path)}))
    spawner.sock.close()  # as if the supervisor died right after asking
    spawner.sock = None
    wait_for(lambda: (run_dir / "exit").exists(), "the wrapper runs and records its exit", 30)
    assert out.read_text() == "ran\n"
    assert "exit_code 0" in (run_dir / "exit").read_text()
    assert spawner.proc is not None
    spawner.proc.wait(10)  # the forker left on the closed socket
    assert "Traceback" not in (home / "forker.err").read_text()
