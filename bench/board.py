"""Board: the real `openclaw-board board --no-supervise` in a real pty (120x40), on ledgers
of 1,000 / 10,000 / 100,000 tasks (bench/bulk.py).

- first frame: from spawning the process until the header's "Flow pressure:" text (drawn
  once the ledger is read) has come out of the pty;
- memory: VmRSS of the board process once it has settled;
- commit → screen: a second process (Ledger API) submits a flow; from its commit (its own
  clock, printed after the transaction) to the arrival, on the pty, of the header showing
  the new total of flows (the reader thread stamps every chunk as it arrives);
- idle: CPU of the board process (/proc/<pid>/stat) and bytes it wrote to the terminal over
  the idle window, with no change in the ledger. The ledger has live flows (running tasks),
  so elapsed times may tick: that is what an operator's board shows too.

There is no peer to run on the same machine (OpenClaw's board is a chat command); the peer
column holds a bare Textual app drawing one line in the same pty (first frame, memory, idle
CPU) or the targets from the board's issues where they set one (issue 15: first frame
≤ 0.8 s and RSS ≤ 120 MB at 100,000 tasks, commit → screen p95 ≤ 100 ms, idle with 20 live
rows ≤ 0.5 % of a core and ≤ 500 bytes/s, idle with nothing live ≤ 0.3 % and 0 bytes/s).
"""

from __future__ import annotations

import os
import pty
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from .common import Row, Stat, bench_env, cli, proc_cpu_s, proc_rss_mb, scratch, sqlite_url

SECTION = "board"
COLS, ROWS = 120, 40
PRESSURE = re.compile(rb"(\d+) active \xc2\xb7 (\d+) blocked \xc2\xb7 (\d+) cancel-requested \xc2\xb7 (\d+) total")

COMMITTER = """
import sys, time
from openclaw_board.ledger import Ledger, command_spec
with Ledger(sys.argv[1]) as ledger:
    print("ready", flush=True)
    for line in sys.stdin:
        ledger.submit(command_spec(line.strip(), ["true"]))
        print(time.time(), flush=True)
"""


FLOOR_APP = """
from textual.app import App
from textual.widgets import Static

class Floor(App):
    def compose(self):
        yield Static("Flow pressure: 0 active")

Floor().run()
"""


class PtyProcess:
    """A child on a pty whose output a thread drains, stamping each chunk with its arrival."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = COLS, rows: int = ROWS) -> None:
        import fcntl
        import termios

        self.started = time.time()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, then become the board
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.buf = bytearray()
        self.stamps: list[tuple[int, float]] = []  # (end offset of a chunk, its arrival time)
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            with self.cond:
                if chunk:
                    self.buf += chunk
                    self.stamps.append((len(self.buf), time.time()))
                self.cond.notify_all()
            if not chunk:
                return

    @property
    def size(self) -> int:
        with self.cond:
            return len(self.buf)

    def arrival(self, offset: int) -> float:
        """When the byte at `offset` arrived."""
        for end, at in self.stamps:
            if end > offset:
                return at
        return time.time()

    def wait_for(self, pattern: re.Pattern[bytes], since: int, timeout: float,
                 accept: object = None) -> re.Match[bytes]:
        """The first match of `pattern` starting at or after `since` (and `accept(match)`)."""
        deadline = time.time() + timeout
        pos = since
        with self.cond:
            while True:
                for match in pattern.finditer(self.buf, pos):
                    if accept is None or accept(match):  # type: ignore[operator]
                        return match
                pos = max(since, len(self.buf) - 200)
                left = deadline - time.time()
                if left <= 0 or not self.thread.is_alive():
                    tail = bytes(self.buf[-400:])
                    raise TimeoutError(f"no {pattern.pattern!r} on the board's terminal; last output: {tail!r}")
                self.cond.wait(left)

    def quiet(self, seconds: float, limit: float) -> None:
        """Wait until nothing was written for `seconds` (at most `limit`)."""
        end = time.time() + limit
        while time.time() < end:
            before = self.size
            time.sleep(seconds)
            if self.size == before:
                return

    def close(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                break
            for _ in range(50):
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    break
                time.sleep(0.1)
            else:
                continue
            break
        self.thread.join(5)
        os.close(self.fd)


def measure(url: str, home: Path, commits: int, idle_s: float) -> dict[str, float]:
    env = bench_env(home, TERM="xterm-256color", COLORTERM="truecolor")
    argv = cli("--db", url, "board", "--no-supervise")
    board = PtyProcess(argv, env)
    committer = subprocess.Popen([sys.executable, "-c", COMMITTER, url], env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
    try:
        first = board.wait_for(re.compile(rb"Flow pressure:"), 0, 120)
        out = {"first_frame_s": board.arrival(first.end() - 1) - board.started}
        board.quiet(1.0, 3)
        out["rss_mb"] = proc_rss_mb(board.pid)
        assert committer.stdout is not None and committer.stdin is not None
        committer.stdout.readline()
        total = max((int(m.group(4)) for m in PRESSURE.finditer(board.buf)), default=0)
        latencies = []
        for i in range(commits):
            since = board.size
            committer.stdin.write(f"bench commit {i}\n")
            committer.stdin.flush()
            committed = float(committer.stdout.readline())
            want = total + 1
            match = board.wait_for(PRESSURE, since, 30, accept=lambda m, w=want: int(m.group(4)) == w)
            latencies.append((board.arrival(match.end() - 1) - committed) * 1000)
            total = want
            time.sleep(0.25)
        board.quiet(1.0, 3)
        bytes0, cpu0, t0 = board.size, proc_cpu_s(board.pid), time.perf_counter()
        time.sleep(idle_s)
        elapsed = time.perf_counter() - t0
        out["idle_cpu_pct"] = (proc_cpu_s(board.pid) - cpu0) / elapsed * 100
        out["idle_bytes_per_s"] = (board.size - bytes0) / elapsed
        if latencies:
            latencies.sort()
            out["p50_ms"] = latencies[len(latencies) // 2]
            out["p95_ms"] = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        return out
    finally:
        if committer.stdin:
            committer.stdin.close()
        committer.wait(30)
        board.close()


def floor(home: Path, idle_s: float) -> dict[str, float]:
    """First frame, memory and idle CPU of a bare Textual app that draws one line, in the same pty."""
    app = PtyProcess([sys.executable, "-c", FLOOR_APP], bench_env(home, TERM="xterm-256color"))
    try:
        first = app.wait_for(re.compile(rb"Flow pressure:"), 0, 60)
        out = {"first_frame_s": app.arrival(first.end() - 1) - app.started}
        app.quiet(1.0, 3)
        out["rss_mb"] = proc_rss_mb(app.pid)
        cpu0, t0 = proc_cpu_s(app.pid), time.perf_counter()
        time.sleep(idle_s)
        out["idle_cpu_pct"] = (proc_cpu_s(app.pid) - cpu0) / (time.perf_counter() - t0) * 100
        return out
    finally:
        app.close()


def run(quick: bool, runs: int) -> list[Row]:
    from .bulk import fill

    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    commits = 10 if quick else 30
    idle_s = 5.0 if quick else 30.0
    rows: list[Row] = []
    with scratch() as home:
        bare = [floor(home, idle_s) for _ in range(runs)]
    bare_first = Stat([b["first_frame_s"] for b in bare])
    bare_rss = Stat([b["rss_mb"] for b in bare])
    bare_idle = Stat([b["idle_cpu_pct"] for b in bare])
    target = "target (issue 15)"
    for size in sizes:
        with scratch() as home:
            url = sqlite_url(home)
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            fill(url, size)
            results = [measure(url, home, commits, idle_s) for _ in range(runs)]
        stat = {key: Stat([r[key] for r in results]) for key in results[0]}
        tag = f"{size:,} tasks"
        rows += [
            Row(SECTION, f"{tag}: time to first frame", "s", stat["first_frame_s"], bare_first,
                "floor: bare Textual app"),
            Row(SECTION, f"{tag}: resident memory", "MB", stat["rss_mb"], bare_rss, "floor: bare Textual app"),
            Row(SECTION, f"{tag}: commit → screen p50", "ms", stat["p50_ms"]),
            Row(SECTION, f"{tag}: commit → screen p95", "ms", stat["p95_ms"], Stat([100.0]), target),
        ]
        if size == 100_000:
            rows += [Row(SECTION, f"{tag}: time to first frame", "s", stat["first_frame_s"], Stat([0.8]), target),
                     Row(SECTION, f"{tag}: resident memory", "MB", stat["rss_mb"], Stat([120.0]), target)]
        rows += [
            Row(SECTION, f"{tag}, 4% of flows live: CPU while idle {idle_s:g} s", "% of a core",
                stat["idle_cpu_pct"], bare_idle, "floor: bare Textual app"),
            Row(SECTION, f"{tag}, 4% of flows live: terminal output while idle", "bytes/s",
                stat["idle_bytes_per_s"], note="a screenful of live rows"),
        ]
    # Exactly 20 live rows (issue 15's case), then none: what an operator's board costs at rest.
    for live_flows, cpu_goal, bytes_goal in ((20, 0.5, 500.0), (0, 0.3, 0.0)):
        size = sizes[-1]
        with scratch() as home:
            url = sqlite_url(home)
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            fill(url, size, live=bool(live_flows), live_flows=live_flows or None)
            results = [measure(url, home, 0, idle_s) for _ in range(runs)]
        tag = f"{size:,} tasks, {live_flows or 'none'} live"
        rows += [
            Row(SECTION, f"{tag}: CPU while idle {idle_s:g} s", "% of a core",
                Stat([r["idle_cpu_pct"] for r in results]), Stat([cpu_goal]), target),
            Row(SECTION, f"{tag}: terminal output while idle", "bytes/s",
                Stat([r["idle_bytes_per_s"] for r in results]), Stat([bytes_goal]), target),
        ]
    return rows
