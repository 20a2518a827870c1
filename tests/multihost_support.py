"""Helpers for the multi-host tests: supervisors as real processes, each with its own host name.

A "host" is simulated by OPENCLAW_BOARD_HOST (and the Supervisor's `host`): every
supervisor process believes it runs on the machine it is named after. They share one
state directory here, as processes on one machine do; the ledger is what they share
for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openclaw_board.ledger import Ledger

RUNNER = """
import json, signal, sys
from openclaw_board.supervisor import Supervisor
opts = json.loads(sys.argv[1])
until_idle = opts.pop("until_idle", False)
sup = Supervisor(opts.pop("url"), log=lambda line: print(line, file=sys.stderr, flush=True), **opts)
signal.signal(signal.SIGTERM, lambda *a: sup.request_stop())
signal.signal(signal.SIGINT, lambda *a: sup.request_stop())
sys.exit(sup.run(until_idle=until_idle))
"""


def start_supervisor(url: str, host: str, home: Path, *, until_idle: bool = False,
                     **opts: Any) -> subprocess.Popen[str]:
    """A supervisor process on "host" (stderr: its journal lines, for failure messages)."""
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), "OPENCLAW_BOARD_HOST": host}
    args = {"url": url, "host": host, "until_idle": until_idle, **opts}
    return subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(args)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def stop(proc: subprocess.Popen[str], timeout: float = 15) -> str:
    """SIGTERM (stop claiming, leave runs detached) and collect its journal."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=timeout)[1] or ""
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1] or ""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` (not a timing assertion:
    the timeout is only how long we are willing to wait for something that must happen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(every)


def kill_host(ledger: Ledger, sup_proc: subprocess.Popen[str], host: str) -> list[int]:
    """kill -9 a supervisor and every wrapper and command it ran, as if its host died: the
    wrappers first, so that none lives to record its command's death (a dead host records
    nothing; a judge that can see the run directories would read that record as the result)."""
    sup_proc.kill()
    sup_proc.wait()
    killed = []
    for task in ledger.running_on_host(host):
        for pid_file in ("wrapper", "child"):
            try:
                pid = int((Path(task.run_dir) / pid_file).read_text().split()[0])
            except (OSError, ValueError, IndexError, TypeError):
                continue
            for kill in (os.killpg, os.kill):  # a whole group (the command's), and the process
                try:
                    kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
    return killed


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def child_pid(task: Any) -> int | None:
    """The pid of a task's command, from its run directory's `child` file (None until written)."""
    try:
        return int((Path(task.run_dir) / "child").read_text().split()[0])
    except (OSError, ValueError, IndexError, TypeError):
        return None
