"""Starting a task's wrapper: through the supervisor's forker (forker.py), else by exec.

`Spawner.start(run_dir, env)` keeps the order recovery relies on (recovery.py, "Never
started"): `exit.reserve`, then `wrapper.err`, each made before any wrapper exists; then
the wrapper, in a session of its own. Through the forker, it is the forker that creates
`wrapper.err` (exclusively) right before it forks: a request still on its way when the
supervisor died can then be refused by recovery taking that name first. It returns what
the supervisor watches: the `Popen` when the wrapper is our child (started by exec), None
when the forker forked it, with its pid and start ticks either way.

A forker that died is replaced at the next start; one that cannot be started at all (or
answers nonsense) leaves us starting wrappers by exec, as before there was a forker.
"""

from __future__ import annotations

import marshal
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ..ledger.envpolicy import task_environment
from . import procs
from .forker import PAD
from .rundir import start_wrapper
from .testhooks import pause_at
from .wrapper import ERR_FILE, reserve_exit

_HERE = str(Path(__file__).parent)
_LAUNCH = f"import sys; sys.path.insert(0, {_HERE!r}); import forker; forker.main(sys.argv[1])"
ANSWER_S = 10.0  # a forker that has not answered by then is stuck: replace it
FORKER_ERR = "forker.err"

Started = tuple["subprocess.Popen[bytes] | None", int, "int | None"]


class Spawner:
    def __init__(self, state: Path, *, use_forker: bool = True, log: Callable[[str], None] | None = None) -> None:
        self.state = state
        self.use_forker = use_forker
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.started = 0  # forkers started, the first included
        self.failed_at_start = False
        self._env_seen: dict[bytes, bytes] | None = None
        self._env_base: dict[tuple[str, ...], dict[str, str]] = {}

    # -- the supervisor's side ---------------------------------------------------------

    def environment(self, task_env: Mapping[str, str | None], *, passthrough: tuple[str, ...],
                    ledger_url: str) -> dict[str, str]:
        """envpolicy.task_environment of our environment for this task, the part that comes from
        our environment worked out once while that environment stays the same (it matched
        every variable against every pattern for every task: a millisecond a task)."""
        data = getattr(os.environ, "_data", None)
        if data is None or data != self._env_seen:
            self._env_seen = dict(data) if data is not None else None
            self._env_base.clear()
        names = tuple(sorted(k for k, v in task_env.items() if v is None))
        base = self._env_base.get(names) if data is not None else None
        if base is None:
            base = task_environment(os.environ, dict.fromkeys(names), passthrough=passthrough,
                                    ledger_url=ledger_url)
            self._env_base[names] = base
        env = dict(base)
        env.update({k: v for k, v in task_env.items() if v is not None})
        return env

    def start(self, run_dir: Path, env: dict[str, str]) -> Started:
        """Start the wrapper of `run_dir`. OSError when it cannot be started (nothing runs then)."""
        if not self.use_forker or self.failed_at_start:
            return self._exec(run_dir, env)
        reserve_exit(str(run_dir))
        pause_at("exit_reserved")
        try:
            request = marshal.dumps({"run_dir": str(run_dir), "cwd": os.getcwd()})
        except OSError:  # our working directory is gone: a wrapper by exec still starts in it
            return self._exec(run_dir, env, reserved=True)
        for _attempt in range(2):
            if not self._ready():
                break
            answer = self._ask(request)
            if answer is None:
                # It died before forking: nothing runs. The `wrapper.err` it may have made is
                # ours to remove (not a directory: that would be recovery's, taken), so that the
                # next forker can make it.
                try:
                    os.unlink(run_dir / ERR_FILE)
                except OSError:
                    pass
                continue
            if "error" in answer:
                raise OSError(f"cannot fork a wrapper: {answer['error']}")
            return None, int(answer["pid"]), answer.get("start")
        return self._exec(run_dir, env, reserved=True)

    def _exec(self, run_dir: Path, env: dict[str, str], reserved: bool = False) -> Started:
        popen = start_wrapper(run_dir, env, reserved=reserved)
        return popen, popen.pid, procs.own_child_start(popen)

    def _ready(self) -> bool:
        """A live forker to ask (started now if there is none). False: use exec."""
        if self.proc is not None and self.proc.poll() is None and self.sock is not None:
            return True
        self._close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        err = None
        try:
            err = os.open(self.state / FORKER_ERR, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _LAUNCH, str(theirs.fileno()), PAD],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(theirs.fileno(),),
                start_new_session=True, close_fds=True, env={},
            )
        except OSError as exc:
            ours.close()
            self.failed_at_start = True
            if self.log is not None:
                self.log(f"cannot start the forker, starting wrappers by exec: {exc}")
            return False
        finally:
            theirs.close()
            if err is not None:
                os.close(err)
        ours.settimeout(ANSWER_S)
        self.sock = ours
        self.started += 1
        if self.started > 1 and self.log is not None:
            self.log(f"forker restarted (pid {self.proc.pid})")
        return True

    def _ask(self, request: bytes) -> dict | None:
        """The answer to one request; None when the forker died without forking."""
        assert self.sock is not None and self.proc is not None
        try:
            self.sock.send(request)
            data = self.sock.recv(65536)
        except TimeoutError:
            # Stuck (stopped, or starved): replace it. A wrapper it forked answers all the same.
            self.proc.kill()
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
        except OSError:
            data = b""
        if not data:
            self._close()
            return None
        answer = marshal.loads(data)
        if not isinstance(answer, dict) or not ("pid" in answer or "error" in answer):
            self._close()
            raise OSError(f"the forker answered nonsense: {answer!r}")
        return answer

    def _close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                proc.wait(timeout=2)  # it leaves on end-of-file
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def forker_pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def close(self) -> None:
        """The forker leaves (its wrappers run on)."""
        self._close()
