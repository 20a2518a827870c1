"""The per-task wrapper: runs one command detached, keeps its output and its exit on disk.

The supervisor starts it as `python -I -S -c "...import wrapper..." RUN_DIR` (see
`rundir.wrapper_argv`: imported, so its cached bytecode is used) in a session of its own
(so it outlives the supervisor, and a terminal's Ctrl-C or hang-up never reaches it).
It is deliberately stdlib-only and imports as little as it can (`_signal`, not `signal`;
`marshal`, not `json`; `posix`, which `os` wraps on Linux, not `os`): it runs once per task
and its start-up cost is the per-task cost (measured in bench/supervisor_bench.py). For the
same reason `main` leaves with `_exit` once everything is on disk (no interpreter teardown).

What it does, in order:
1. writes `wrapper` ("PID STARTTICKS") so a later supervisor can recognise it (best effort,
   as is every file but `exit`: the supervisor also has the pid in the ledger);
2. reads `spec` (a marshal'd dict written by the supervisor: argv or shell string, cwd,
   env additions, timeout_s, kill_grace_s, head_cap, tail_cap);
3. starts the command in a process group of its own (the wrapper stays outside it, so
   stopping the group never kills the wrapper), stdin /dev/null, stdout+stderr to a pipe;
   writes `child` ("PID STARTTICKS");
4. copies the output to the capped log (capture.py; see `logs.py` for the layout), scans it for
   `::progress PCT [TEXT]`, `::summary TEXT` and `::blocked REASON` lines and keeps the
   latest of each in `control` (rewritten atomically, at most every CONTROL_EVERY_S);
5. enforces the timeout, and on SIGTERM (the supervisor's "cancel") stops the group:
   SIGTERM, then SIGKILL after kill_grace_s. To stop, it first becomes a child subreaper,
   so that the group's orphans become its children: it reaps them at once and sees the
   group empty (a zombie still counts as a member, and init may take seconds to reap);
6. writes `exit` atomically BEFORE it exits: into `exit.reserve`, room the supervisor set
   aside when it started the run, then renamed. So a full disk loses output (counted in
   `log_lost`), never the result. `exit` and `control` are "key value" lines (values
   sanitised to one line), read by `read_kv`.

A command that cannot start (missing program, missing cwd) gets an `exit` file with an
`error` line and no exit code. The wrapper never dies of SIGPIPE: it writes only to files.
Any timeout or grace it is given is safe: waits are cut into chunks that poll() accepts,
and nan, infinite or negative values mean none (the ledger refuses them anyway).
"""

import _signal  # type: ignore[import-not-found]  # CPython's own, typeshed has no stub
import marshal
import posix as os  # `os` itself costs a millisecond of start-up a task; this is what it wraps
import select
import sys
import time

try:  # imported by the supervisor, as part of its package
    from .capture import LOG_FILE, MAX_TEXT, TIMES_FILE, Control, Sink, Times, clean_text
except ImportError:  # run as the wrapper (`python -I -S`, this directory first on sys.path)
    from capture import LOG_FILE, MAX_TEXT, TIMES_FILE, Control, Sink, Times, clean_text  # type: ignore[import-not-found,no-redef]

__all__ = ["LOG_FILE", "TIMES_FILE", "Control", "Sink", "Times", "clean_text", "main", "read_kv", "reserve_exit",
           "start_ticks", "usable_seconds"]

SPEC_FILE = "spec"
WRAPPER_FILE = "wrapper"
CHILD_FILE = "child"
CONTROL_FILE = "control"
EXIT_FILE = "exit"
EXIT_RESERVE_FILE = "exit.reserve"  # room for `exit`, set aside when the run starts
ERR_FILE = "wrapper.err"  # the wrapper's own stderr (normally empty)

CONTROL_EVERY_S = 0.25
DRAIN_AFTER_EXIT_S = 1.0  # a background grandchild may hold the pipe open: stop waiting
STOP_RECHECK_S = 0.05  # while stopping: look at the group this often (a zombie init owns sends us nothing)
MAX_WAIT_S = 3600.0  # one poll() at most (it takes an int of ms: 24.8 days would overflow)
EXIT_RESERVE_BYTES = 16384  # more than any `exit` file (values are capped below)
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def _join(directory: str, name: str) -> str:
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _isdir(path: str) -> bool:
    try:
        return (os.stat(path).st_mode & 0o170000) == 0o040000  # S_ISDIR
    except (OSError, ValueError):
        return False


# -- helpers shared with the supervisor (imported from there; keep them stdlib-only) ------

def start_ticks(pid: int, zombie_ok: bool = False) -> "int | None":
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot); None when gone.

    A zombie has finished, so it counts as gone, unless `zombie_ok`: for a child of ours we
    have not reaped yet, whose pid nobody else can take (procs.own_child_start)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:].split()
    if len(rest) < 20 or rest[0] == b"X" or (rest[0] == b"Z" and not zombie_ok):
        return None
    return int(rest[19])


def write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def reserve_exit(run_dir: str) -> None:
    """Set aside room for the `exit` file (called by the supervisor before it starts the
    wrapper: a full disk then fails the start, before the command runs). Raises OSError."""
    fd = os.open(_join(run_dir, EXIT_RESERVE_FILE), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.posix_fallocate(fd, 0, EXIT_RESERVE_BYTES)
        except OSError as exc:
            if exc.errno not in (95, 22):  # EOPNOTSUPP, EINVAL: no fallocate here; write the room instead
                raise
            _write_all(fd, b" " * EXIT_RESERVE_BYTES, 0)
    finally:
        os.close(fd)


def write_exit(run_dir: str, text: str) -> None:
    """The `exit` file, atomically: written in place into the room reserve_exit set aside
    (no new blocks needed), cut to its length, renamed. Without that room: write_atomic."""
    reserve = _join(run_dir, EXIT_RESERVE_FILE)
    try:
        fd = os.open(reserve, os.O_WRONLY)
    except OSError:
        write_atomic(_join(run_dir, EXIT_FILE), text)
        return
    data = text.encode("utf-8")
    try:
        _write_all(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
    os.replace(reserve, _join(run_dir, EXIT_FILE))


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _try_write(path: str, text: str) -> None:
    """A file that helps but is not the result (identity, latest control values): a full
    disk must not stop the run over it."""
    try:
        write_atomic(path, text)
    except OSError:
        pass


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


def usable_seconds(value, default=None, zero_ok=False):
    """A duration from a spec as a usable float: nan, infinite, negative (or zero, unless
    `zero_ok`) and non-numbers give `default` (for a timeout: none). The supervisor uses
    it too, for an orphaned command (watching.check_orphan)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    if not (0 <= seconds < float("inf")) or (seconds == 0 and not zero_ok):  # nan fails the first test
        return default
    return seconds


def _poll_ms(times: list, now: float) -> int:
    """poll()'s timeout for the soonest of `times` (None: nothing due), never above MAX_WAIT_S."""
    due = [t for t in times if t is not None]
    delay = min(due) - now if due else MAX_WAIT_S
    return 0 if delay <= 0 else int(min(delay, MAX_WAIT_S) * 1000) + 1


def _become_subreaper() -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER): processes of the group orphaned from now on become our
    children instead of init's, so we reap them and see the group empty at once. Done only
    when stopping a run (`_ctypes` costs a millisecond of start-up a run that ends by itself
    never needs); False where it cannot be done (then the group is rechecked on a timer)."""
    try:
        import _ctypes

        class _Int(_ctypes._SimpleCData):
            _type_ = "i"

        class _Prctl(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL
            _restype_ = _Int

        class _Self:  # what CFuncPtr looks a symbol up in: this process (libc included)
            _handle = _ctypes.dlopen(None)  # type: ignore[arg-type]  # None: this process, as dlopen(3) says

        return _Prctl(("prctl", _Self))(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0  # type: ignore[arg-type]
    except Exception:  # not Linux, no ctypes: the timer does it
        return False


def _reap(pid: int, status):
    """Reap every child that ended (the command, and orphans we adopted as a subreaper);
    the command's wait status once it ended, else `status` as given."""
    while True:
        try:
            done, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0 if status is None else status  # no child left at all
        if done == 0:
            return status
        if done == pid:
            status = st


def _exit_text(values: dict) -> str:
    """The `exit` file's text, made to fit the room reserved for it."""
    text = format_kv(values)
    if len(text.encode("utf-8")) > EXIT_RESERVE_BYTES - 256:
        text = format_kv({k: (clean_text(v, 200) if isinstance(v, str) else v) for k, v in values.items()})
    return text


def run(run_dir: str) -> int:
    os.umask(0o077)
    # Signals first: from here on a stop request is recorded, never fatal.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    _signal.set_wakeup_fd(wake_w)
    for sig in (_signal.SIGCHLD, _signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
        _signal.signal(sig, _noop)
    me = os.getpid()
    _try_write(_join(run_dir, WRAPPER_FILE), f"{me} {start_ticks(me)}\n")
    with open(_join(run_dir, SPEC_FILE), "rb") as fh:
        spec = marshal.loads(fh.read())
    control_path = _join(run_dir, CONTROL_FILE)

    out_r, out_w = os.pipe()
    sink = Sink(_join(run_dir, LOG_FILE), int(spec.get("head_cap", 8 << 20)), int(spec.get("tail_cap", 8 << 20)))
    times = Times(_join(run_dir, TIMES_FILE))
    try:
        pid = _spawn(spec, out_w)
    except RuntimeError as exc:
        write_exit(run_dir, _exit_text({"error": str(exc), "ended_at": int(time.time() * 1000)}))
        return 0
    finally:
        os.close(out_w)
    # zombie_ok: a command that already ended is still our unreaped child, and its start time
    # is what later tells it from a stranger that takes its pid.
    _try_write(_join(run_dir, CHILD_FILE), f"{pid} {start_ticks(pid, zombie_ok=True)}\n")

    control = Control()
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    now = time.monotonic()
    timeout_s = usable_seconds(spec.get("timeout_s"))
    deadline = now + timeout_s if timeout_s else None
    grace = usable_seconds(spec.get("kill_grace_s"), 5.0, zero_ok=True)
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
        _become_subreaper()  # before the signal: what it orphans comes to us
        try:
            os.killpg(pid, _signal.SIGTERM)
        except OSError:
            pass

    while True:
        now = time.monotonic()
        stopping = kill_at is not None and status is not None
        wait_ms = _poll_ms([
            deadline if reason is None else None,
            kill_at,
            drain_until if drain_until is not None and drain_until > now else None,
            next_flush if control.dirty else None,
            now + STOP_RECHECK_S if stopping else None,
        ], now)
        for fd, _ev in poller.poll(wait_ms):
            if fd == out_r:
                data = os.read(out_r, 65536)
                if data:
                    times.note(sink.position(), time.time())
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
            status = _reap(pid, None)
            if status is not None:
                drain_until = now + DRAIN_AFTER_EXIT_S
        elif reason is not None:
            _reap(pid, status)  # orphans of the stopped group, adopted as a subreaper
        if reason is None and deadline is not None and now >= deadline:
            stop("timeout")
        if kill_at is not None and (now >= kill_at or (status is not None and not _group_alive(pid))):
            try:
                os.killpg(pid, _signal.SIGKILL)  # whatever is left of the group: grandchildren too
            except OSError:
                pass
            kill_at = None
        if control.dirty and now >= next_flush:
            _try_write(control_path, format_kv(control.values(sink.total)))
            control.dirty = False
            next_flush = now + CONTROL_EVERY_S
        if status is not None and kill_at is None and (not pipe_open or now >= (drain_until or 0.0)):
            break

    values = control.values(sink.total)
    _try_write(control_path, format_kv(values))
    values["exit_code"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    values["signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    values["reason"] = reason
    values["timeout_s"] = timeout_s
    values["ended_at"] = int(time.time() * 1000)
    if sink.lost:
        values["log_lost"] = sink.lost
        values["log_error"] = sink.error
    write_exit(run_dir, _exit_text(values))
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
