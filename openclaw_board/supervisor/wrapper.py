"""The per-task wrapper: runs one command detached, keeps its output and its exit on disk.

The supervisor starts it as `python -I -S -c "...import wrapper..." RUN_DIR` (see
`runs.wrapper_argv`: imported, so its cached bytecode is used) in a session of its own
(so it outlives the supervisor, and a terminal's Ctrl-C or hang-up never reaches it).
It is deliberately stdlib-only and imports as little as it can (`_signal`, not `signal`;
`marshal`, not `json`; `posix`, which `os` wraps on Linux, not `os`): it runs once per task
and its start-up cost is the per-task cost (measured in bench/supervisor_bench.py). For the
same reason `main` leaves with `_exit` once everything is on disk (no interpreter teardown).

What it does, in order:
1. writes `wrapper` ("PID STARTTICKS") so a later supervisor can recognise it;
2. reads `spec` (a marshal'd dict written by the supervisor: argv or shell string, cwd,
   env additions, timeout_s, kill_grace_s, head_cap, tail_cap);
3. starts the command in a process group of its own (the wrapper stays outside it, so
   stopping the group never kills the wrapper), stdin /dev/null, stdout+stderr to a pipe;
   writes `child` ("PID STARTTICKS");
4. copies the output to the capped log (see `logs.py` for the layout), scans it for
   `::progress PCT [TEXT]`, `::summary TEXT` and `::blocked REASON` lines and keeps the
   latest of each in `control` (rewritten atomically, at most every CONTROL_EVERY_S);
5. enforces the timeout, and on SIGTERM (the supervisor's "cancel") stops the group:
   SIGTERM, then SIGKILL after kill_grace_s;
6. writes `exit` atomically (temp file + rename) BEFORE it exits. `exit` and `control`
   are "key value" lines (values sanitised to one line), read by `read_kv`.

A command that cannot start (missing program, missing cwd) gets an `exit` file with an
`error` line and no exit code. The wrapper never dies of SIGPIPE: it writes only to files.
"""

import _signal
import marshal
import posix as os  # `os` itself costs a millisecond of start-up a task; this is what it wraps
import select
import sys
import time

SPEC_FILE = "spec"
WRAPPER_FILE = "wrapper"
CHILD_FILE = "child"
CONTROL_FILE = "control"
EXIT_FILE = "exit"
LOG_FILE = "output.log"  # the head; tail segments are output.log.1, output.log.2, ...
ERR_FILE = "wrapper.err"  # the wrapper's own stderr (normally empty)

CONTROL_EVERY_S = 0.25
DRAIN_AFTER_EXIT_S = 1.0  # a background grandchild may hold the pipe open: stop waiting
MAX_CONTROL_LINE = 4096
MAX_TEXT = 500


def _join(directory: str, name: str) -> str:
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _isdir(path: str) -> bool:
    try:
        return (os.stat(path).st_mode & 0o170000) == 0o040000  # S_ISDIR
    except (OSError, ValueError):
        return False


# -- helpers shared with the supervisor (imported from there; keep them stdlib-only) ------

def start_ticks(pid: int) -> "int | None":
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot); None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:].split()
    if len(rest) < 20 or rest[0] in (b"Z", b"X"):  # a zombie has finished: not alive
        return None
    return int(rest[19])


def clean_text(raw: "bytes | str", limit: int = MAX_TEXT) -> str:
    """One safe line: UTF-8 with replacement, control characters dropped, length capped."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = "".join(ch for ch in text if ch >= " " and ch != "\x7f" and not "\x80" <= ch <= "\x9f")
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def format_kv(values: dict) -> str:
    return "".join(f"{k} {'' if v is None else clean_text(str(v), 4 * MAX_TEXT)}\n" for k, v in values.items())


def read_kv(path: str) -> "dict[str, str] | None":
    """A `control` or `exit` file as {key: value}; None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if key:
            out[key] = value
    return out


# -- output: the capped log and the control lines ------------------------------------------

class Sink:
    """Head file up to head_cap bytes, then tail segments of tail_cap bytes; keeps the last two."""

    def __init__(self, run_dir: str, head_cap: int, tail_cap: int) -> None:
        self.base = _join(run_dir, LOG_FILE)
        self.head_cap, self.tail_cap = max(0, head_cap), max(1, tail_cap)
        self.total = 0
        self.seg = 0  # 0 is the head file
        self.room = self.head_cap
        self.fd = self._open(self.base)

    @staticmethod
    def _open(path: str) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, data: bytes) -> None:
        self.total += len(data)
        try:
            self._write(data)
        except OSError:
            pass  # a full disk loses output, never the run's result (the exit file is tiny)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.room == 0:
                os.close(self.fd)
                self.seg += 1
                self.fd = self._open(f"{self.base}.{self.seg}")
                self.room = self.tail_cap
                if self.seg >= 3:
                    try:
                        os.unlink(f"{self.base}.{self.seg - 2}")
                    except OSError:
                        pass
            n = min(self.room, len(view))
            os.write(self.fd, view[:n])
            self.room -= n
            view = view[n:]


class Control:
    """Scans output for `::` lines at the start of a line, chunk boundaries included."""

    def __init__(self) -> None:
        self.at_line_start = True
        self.partial = None  # bytearray of a `::` candidate line not yet ended
        self.progress = None
        self.summary = None
        self.blocked = None
        self.dirty = False

    def feed(self, chunk: bytes) -> None:
        pos, n = 0, len(chunk)
        while pos < n:
            if self.partial is not None:
                nl = chunk.find(b"\n", pos)
                end = n if nl < 0 else nl
                if len(self.partial) < MAX_CONTROL_LINE:
                    self.partial += chunk[pos:min(end, pos + MAX_CONTROL_LINE)]
                if nl < 0:
                    return
                line, self.partial = bytes(self.partial), None
                self._line(line)
                pos, self.at_line_start = nl + 1, True
                continue
            if not self.at_line_start:
                nl = chunk.find(b"\n", pos)
                if nl < 0:
                    return
                pos, self.at_line_start = nl + 1, True
                continue
            # At a line start: a `::` line? (A lone ':' at the chunk's end may become one.)
            if chunk.startswith(b"::", pos) or chunk[pos:] == b":":
                self.partial = bytearray()
                continue
            nxt = chunk.find(b"\n::", pos)
            if nxt >= 0:
                pos = nxt + 1
                continue
            nl = chunk.rfind(b"\n", pos)
            if nl < 0:
                self.at_line_start = False
                return
            pos = nl + 1  # the last line of the chunk starts here

    def _line(self, raw: bytes) -> None:
        if not raw.startswith(b"::"):
            return
        word, _, rest = raw[2:].rstrip(b"\r").partition(b" ")
        if word == b"progress":
            pct, _, text = rest.strip().partition(b" ")
            try:
                value = float(pct.rstrip(b"%"))
            except ValueError:
                return
            if value != value:  # NaN
                return
            self.progress = max(0.0, min(100.0, value))
            if text.strip():
                self.summary = clean_text(text)
        elif word == b"summary":
            self.summary = clean_text(rest)
        elif word == b"blocked":
            self.blocked = clean_text(rest) or "blocked"
        else:
            return
        self.dirty = True

    def values(self, total: int) -> dict:
        return {"progress": self.progress, "summary": self.summary, "blocked": self.blocked, "bytes": total}


# -- the run ------------------------------------------------------------------------------

def _spawn(spec: dict, out_fd: int) -> int:
    command = spec["command"]
    argv = ["/bin/sh", "-c", command] if spec.get("shell") else list(command)
    if not argv or not argv[0]:
        raise RuntimeError("empty command")
    cwd = spec.get("cwd")
    if cwd:
        if not _isdir(cwd):
            raise RuntimeError(f"cwd does not exist: {cwd}")
        os.chdir(cwd)
    # posix.environ is bytes (os.environ decodes it): the additions are encoded the same way.
    enc, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    env = dict(os.environ)
    for key, value in (spec.get("env") or {}).items():
        env[key.encode(enc, errors)] = value.encode(enc, errors)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, out_fd, 1),
        (os.POSIX_SPAWN_DUP2, out_fd, 2),
    ]
    # Python ignores SIGPIPE and SIGXFSZ; the command must get the defaults back.
    sigdef = (_signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP,
              _signal.SIGCHLD)
    try:
        return os.posix_spawnp(argv[0], argv, env, file_actions=actions, setpgroup=0, setsigdef=sigdef)
    except FileNotFoundError:
        raise RuntimeError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise RuntimeError(f"permission denied: {argv[0]}") from None
    except OSError as exc:
        raise RuntimeError(f"cannot start {argv[0]}: {exc.strerror}") from None


def _noop(signum, frame):  # the wake-up fd carries the signal number; nothing to do here
    pass


def run(run_dir: str) -> int:
    os.umask(0o077)
    # Signals first: from here on a stop request is recorded, never fatal.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    _signal.set_wakeup_fd(wake_w)
    for sig in (_signal.SIGCHLD, _signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
        _signal.signal(sig, _noop)
    me = os.getpid()
    write_atomic(_join(run_dir, WRAPPER_FILE), f"{me} {start_ticks(me)}\n")
    with open(_join(run_dir, SPEC_FILE), "rb") as fh:
        spec = marshal.loads(fh.read())
    exit_path = _join(run_dir, EXIT_FILE)
    control_path = _join(run_dir, CONTROL_FILE)

    out_r, out_w = os.pipe()
    sink = Sink(run_dir, int(spec.get("head_cap", 8 << 20)), int(spec.get("tail_cap", 8 << 20)))
    try:
        pid = _spawn(spec, out_w)
    except RuntimeError as exc:
        write_atomic(exit_path, format_kv({"error": str(exc), "ended_at": int(time.time() * 1000)}))
        return 0
    finally:
        os.close(out_w)
    write_atomic(_join(run_dir, CHILD_FILE), f"{pid} {start_ticks(pid)}\n")

    control = Control()
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    now = time.monotonic()
    timeout_s = spec.get("timeout_s")
    deadline = now + float(timeout_s) if timeout_s else None
    grace = float(spec.get("kill_grace_s", 5.0))
    reason = None  # "timeout" | "stop"
    kill_at = None
    status = None
    drain_until = None
    pipe_open = True
    next_flush = now

    def stop(why: str) -> None:
        nonlocal reason, kill_at
        reason = why
        kill_at = time.monotonic() + grace
        try:
            os.killpg(pid, _signal.SIGTERM)
        except OSError:
            pass

    while True:
        now = time.monotonic()
        waits = [t for t in (deadline if reason is None else None, kill_at, drain_until,
                             next_flush if control.dirty else None) if t is not None]
        wait_ms = None if not waits else max(0, int((min(waits) - now) * 1000) + 1)
        for fd, _ev in poller.poll(wait_ms):
            if fd == out_r:
                data = os.read(out_r, 65536)
                if data:
                    sink.write(data)
                    control.feed(data)
                    control.dirty = True
                else:
                    pipe_open = False
                    poller.unregister(out_r)
            elif fd == wake_r:
                sigs = os.read(wake_r, 256)
                if reason is None and any(s in sigs for s in (_signal.SIGTERM, _signal.SIGINT)):
                    stop("stop")
        now = time.monotonic()
        if status is None:
            try:
                done, st = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, st = pid, 0
            if done == pid:
                status = st
                drain_until = now + DRAIN_AFTER_EXIT_S
        if reason is None and deadline is not None and now >= deadline:
            stop("timeout")
        if kill_at is not None and (now >= kill_at or (status is not None and not _group_alive(pid))):
            try:
                os.killpg(pid, _signal.SIGKILL)  # whatever is left of the group: grandchildren too
            except OSError:
                pass
            kill_at = None
        if control.dirty and now >= next_flush:
            try:
                write_atomic(control_path, format_kv(control.values(sink.total)))
            except OSError:
                pass
            control.dirty = False
            next_flush = now + CONTROL_EVERY_S
        if status is not None and kill_at is None and (not pipe_open or now >= drain_until):
            break

    values = control.values(sink.total)
    values["exit_code"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    values["signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    values["reason"] = reason
    values["timeout_s"] = timeout_s
    values["ended_at"] = int(time.time() * 1000)
    write_atomic(control_path, format_kv(control.values(sink.total)))
    write_atomic(exit_path, format_kv(values))
    return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def main(run_dir: str) -> None:
    """The process's entry point: run, then leave at once. Everything the run leaves is
    already on disk (plain os.write calls, files closed); tearing the interpreter down
    would only cost time. A crash still goes the normal way (traceback to wrapper.err)."""
    code = run(run_dir)
    if sys.stderr is not None:
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1])
