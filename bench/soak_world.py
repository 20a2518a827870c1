"""The processes of the chaos soak: the board in a real pty, standalone supervisors, CLI
calls, and our wrappers and commands found in /proc.

Every process the soak starts gets the soak's private state directory; wrappers and
commands are recognised by that directory (a fresh temporary path) in their command line,
and are only ever signalled through a pidfd opened and checked first, so that a pid reused
by somebody else's process is never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

from .board import PtyProcess
from .common import bench_env, cli
from .soak_record import CliCall, Record

ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()][0-9A-Za-z]|\x1b.")
CLI_TIMEOUT_S = 120.0


def pidfd_signal(pid: int, sig: int, must_contain: bytes) -> bool:
    """Send `sig` to `pid` only if its command line still contains `must_contain`."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if must_contain not in fh.read():
                return False
        signal.pidfd_send_signal(fd, sig)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class SoakProc(NamedTuple):
    pid: int
    ppid: int
    kind: str  # "wrapper" | "command"
    what: str  # a wrapper's task id, a command's nonce


def soak_processes(home: Path) -> list[SoakProc]:
    """Every live wrapper and task command of this soak (found by its state directory)."""
    runs, found = str(home / "runs").encode(), []
    markers = str(home / "markers").encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                args = [a for a in fh.read().split(b"\0") if a]
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if len(fields) < 2 or fields[0] in (b"Z", b"X"):
            continue
        pid, ppid = int(entry), int(fields[1])
        if len(args) >= 2 and any(b"wrapper.main" in a for a in args) and args[-1].startswith(runs):
            found.append(SoakProc(pid, ppid, "wrapper", os.path.basename(args[-1]).decode()))
        elif markers in args and any(a.endswith(b"soak_task.py") for a in args):
            at = args.index(markers) + 1
            found.append(SoakProc(pid, ppid, "command", args[at].decode() if at < len(args) else "?"))
    # A wrapper's child between its fork and the exec of the command still shows the wrapper's
    # command line: it is the command about to start, not a wrapper (killing it as one made the
    # checks expect a lost where the wrapper truthfully recorded its command killed).
    wrappers = {(p.pid, p.what) for p in found if p.kind == "wrapper"}
    return [p for p in found if not (p.kind == "wrapper" and (p.ppid, p.what) in wrappers)]


class Actor:
    """A supervisor the chaos may kill, stop and restart: `supervise` or the board's embedded one."""

    def __init__(self, name: str, host: str, url: str, home: Path, record: Record) -> None:
        self.name, self.host, self.url, self.home, self.record = name, host, url, home, record
        self.incarnation = 0
        self.expected_exit = False  # we killed or stopped it on purpose
        self.stopped = False  # SIGSTOPped by the chaos
        self.outputs: list[tuple[str, str]] = []  # (which incarnation, what it printed) once it ended
        self.env = bench_env(home, OPENCLAW_BOARD_HOST=host, TERM="xterm-256color", COLORTERM="truecolor")

    @property
    def pid(self) -> int | None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def shutdown(self) -> bool:
        """Stop it as an operator would; False when it had to be killed."""
        raise NotImplementedError

    def poll(self) -> int | None:
        """Its exit status once it has ended (reaped), else None."""
        raise NotImplementedError

    def _collect(self) -> None:
        """Keep what the ended incarnation printed."""
        raise NotImplementedError

    def signal(self, sig: int) -> bool:
        pid = self.pid
        if pid is None or self.poll() is not None:
            return False
        try:
            os.kill(pid, sig)  # our own child, not reaped yet: the pid cannot have been reused
        except OSError:
            return False
        if sig == signal.SIGSTOP:
            self.stopped = True
        elif sig == signal.SIGCONT:
            self.stopped = False
        return True

    def kill(self) -> None:
        self.expected_exit = True
        self.signal(signal.SIGKILL)
        self.stopped = False
        self.wait(30)

    def wait(self, timeout: float) -> int | None:
        end = time.time() + timeout
        while time.time() < end:
            code = self.poll()
            if code is not None:
                return code
            time.sleep(0.05)
        return None

    def check_unexpected(self) -> bool:
        """True (and recorded) when it ended though nobody asked it to."""
        code = self.poll()
        if code is None or self.expected_exit:
            return False
        tail = self.outputs[-1][1][-600:] if self.outputs else ""
        self.record.unexpected_exits.append(f"{self.name} #{self.incarnation} exited {code} by itself: {tail!r}")
        self.record.fault(self.name, "unexpected exit", str(code))
        self.expected_exit = True  # recorded once
        return True

    def restart(self) -> None:
        self.poll()
        self.start()


class Supervise(Actor):
    """`openclaw-board supervise` on one "host", its journal (stderr) in a file."""

    def __init__(self, name: str, host: str, url: str, home: Path, record: Record, concurrency: int = 3) -> None:
        super().__init__(name, host, url, home, record)
        self.concurrency = concurrency
        self.proc: subprocess.Popen[bytes] | None = None
        self.err_path: Path | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        self.incarnation += 1
        self.expected_exit = self.stopped = False
        self.err_path = self.home / "soak-logs" / f"{self.name}-{self.incarnation}.err"
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                cli("--db", self.url, "supervise", "--concurrency", str(self.concurrency), "--kill-grace", "1s",
                    "--lease", f"{self.record.lease_s:g}s"),
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

    def poll(self) -> int | None:
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is not None and self.err_path is not None:
            self._collect()
        return code

    def _collect(self) -> None:
        assert self.err_path is not None
        self.outputs.append((f"{self.name} #{self.incarnation} stderr",
                             self.err_path.read_text(errors="replace")))
        self.err_path = None

    def shutdown(self, timeout: float = 30) -> bool:
        """SIGTERM: stop claiming, leave runs detached (what an operator's Ctrl-C does). False
        when it did not stop and was killed."""
        self.expected_exit = True
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        if self.wait(timeout) is None:
            self.kill()
            return False
        return True


QUIT_S = 5.0  # a board asked to quit (`q`) exits by itself within this, or it is a violation


class BoardPty(PtyProcess):
    """PtyProcess that knows whether it has reaped its child, so it never signals a reused pid."""

    code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid == self.pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def close(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            while self.poll() is None:
                time.sleep(0.05)
        self.thread.join(5)
        with contextlib.suppress(OSError):
            os.close(self.fd)


class Board(Actor):
    """`openclaw-board board` (embedded supervisor) in a real 120x40 pty, as bench/board.py runs it."""

    pty: BoardPty | None = None
    last_code: int | None = None  # how the previous incarnation ended

    @property
    def pid(self) -> int | None:
        return self.pty.pid if self.pty is not None else None

    def start(self) -> None:
        self.incarnation += 1
        self.expected_exit = self.stopped = False
        self.last_code = None
        self.pty = BoardPty(cli("--db", self.url, "board"), self.env)

    def poll(self) -> int | None:
        if self.pty is None:
            return self.last_code
        code = self.pty.poll()
        if code is not None:
            self._collect()
        return code

    def _collect(self) -> None:
        assert self.pty is not None
        pty, self.pty = self.pty, None
        pty.close()
        self.outputs.append((f"{self.name} #{self.incarnation} terminal", screen_text(bytes(pty.buf))))
        self.last_code = pty.code

    def press(self, keys: bytes) -> None:
        """Keys typed on the board's terminal."""
        if self.pty is not None and self.poll() is None:
            with contextlib.suppress(OSError):
                os.write(self.pty.fd, keys)

    def shutdown(self, timeout: float = QUIT_S) -> bool:
        """Escape from wherever the operator was, then `q` (its runs stay detached): the board
        must then exit by itself, with 0, within `timeout`. False (and killed) when it did not:
        a violation, SIGCONTs included (the board's driver resumes only after its own
        suspension, so a bare SIGCONT no longer starts a second input thread)."""
        self.expected_exit = True
        if self.pty is None:
            return True
        self.press(b"\x1b")
        time.sleep(0.5)
        self.press(b"\x1b")
        time.sleep(0.5)
        self.press(b"q")
        code = self.wait(timeout)
        if code is None:
            self.kill()
            return False
        return code == 0


def screen_text(raw: bytes) -> str:
    """What a terminal's bytes say, escape sequences removed (enough to find an error message)."""
    return ANSI.sub(b"", raw).decode("utf-8", "replace")


def run_cli(url: str, home: Path, record: Record, *args: str, stdin: str | None = None) -> CliCall:
    """One CLI command as its own process; recorded with its exit status and stderr."""
    at = time.time()
    try:
        done = subprocess.run(cli("--db", url, *args), env=bench_env(home), input=stdin, capture_output=True,
                              text=True, timeout=CLI_TIMEOUT_S)
        call = CliCall(list(args), done.returncode, done.stdout, done.stderr, at)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        call = CliCall(list(args), None, out, err, at)
    record.call(call)
    return call
