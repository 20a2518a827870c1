"""The forker: a long-lived process per supervisor that forks each task's wrapper, already imported.

A fresh interpreter per wrapper costs ~12 ms of CPU before the wrapper's first line; a fork
of a process that has imported it costs ~1 ms. So each supervisor starts one forker
(`python -I -S`, stdlib-only like the wrapper, no environment of its own) and asks it for
every wrapper over a SOCK_SEQPACKET socketpair (no name on disk: nobody else can reach it).
What the wrapper does, and what it leaves on disk, is exactly what it does when started
as a process of its own (wrapper.py); only its start is cheaper.

Each forked wrapper:
- answers the request itself, with its own pid and start ticks, then closes its copy of the
  socket. So the supervisor never waits on a forker that died after forking: if the forker
  dies before the fork, the socket reaches end-of-file (only the forker held it) and nothing
  runs, and the supervisor may safely ask a new forker; if after, the wrapper still answers.
  A supervisor gone by then is no reason to stop: the run goes on, and is re-attached;
- becomes a session of its own (setsid), stdin and stdout /dev/null, stderr `wrapper.err`
  (which the forker creates, exclusively, right before the fork: when recovery took that name
  first, because the supervisor that asked is gone, the forker refuses and forks nothing),
  in the supervisor's working directory, with the task's whole environment (from `spec`,
  as a wrapper started by exec gets it) and no other descriptor;
- shows `python -I -S -c "...wrapper.main..." RUN_DIR` as its command line, as a wrapper
  started by exec does (`ps` and the chaos soak tell wrappers by it), rewritten in place
  in the room the forker's own command line left for it;
- is the forker's child only until the forker dies: then init adopts it. The supervisor
  watches it as it watches any wrapper it did not start (pidfd, pid + start ticks), and a
  supervisor that comes back after both died re-attaches it the same way (recovery.py).

The forker reaps its children as they end (their results are in their `exit` files), and
leaves when the supervisor's end of the socket closes (the supervisor stopped or died); its
wrappers run on. The supervisor starts a new forker whenever the last one is gone
(`Forker.spawn`), and falls back to starting the wrapper by exec when none can be started.
"""

import _signal  # type: ignore[import-not-found]
import marshal
import posix as os
import select
import sys

try:  # imported by the supervisor, as part of its package
    from . import wrapper
except ImportError:  # run as the forker (`python -I -S`, this directory first on sys.path)
    import wrapper  # type: ignore[import-not-found,no-redef]

ROOM = 4096  # bytes of command line left for a forked wrapper's own (its run directory's path)
PAD = "#" * ROOM


def _cmdline(run_dir: str) -> bytes:
    launch = f"import sys; sys.path.insert(0, {sys.path[0]!r}); import wrapper; wrapper.main(sys.argv[1])"
    return b"\0".join(a.encode() for a in (sys.executable, "-I", "-S", "-c", launch, run_dir)) + b"\0"


def _retitle(run_dir: str) -> None:
    """Our command line, rewritten in its own memory (best effort: `ps` only)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            rest = fh.read().rsplit(b")", 1)[1].split()
        start, end = int(rest[45]), int(rest[46])  # fields 48 and 49: arg_start, arg_end
        text = _cmdline(run_dir)
        if len(text) > end - start:
            return
        fd = os.open("/proc/self/mem", os.O_WRONLY)
        try:
            os.pwrite(fd, text + b"\0" * (end - start - len(text)), start)
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        pass


def _set_environment(run_dir: str) -> None:
    """The task's whole environment, as a wrapper started by exec has it (wrapper._spawn
    starts the command with posix.environ plus the spec's; a PATH search reads the C one)."""
    with open(wrapper._join(run_dir, wrapper.SPEC_FILE), "rb") as fh:
        env = marshal.loads(fh.read()).get("env") or {}
    enc, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    for key in list(os.environ):
        os.unsetenv(key)
    os.environ.clear()
    for key, value in env.items():
        k, v = key.encode(enc, errors), value.encode(enc, errors)
        os.putenv(k, v)
        os.environ[k] = v


def _child(sock: int, request: dict, err: int, others: list) -> None:
    """The forked wrapper. Never returns."""
    code = 1
    try:
        _signal.set_wakeup_fd(-1)
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        for fd in others:
            os.close(fd)
        os.setsid()
        me = os.getpid()
        run_dir = request["run_dir"]
        try:
            os.write(sock, marshal.dumps({"pid": me, "start": wrapper.start_ticks(me)}))
        except OSError:
            pass  # the supervisor that asked is gone: the run goes on, and its next one re-attaches it
        os.close(sock)
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        os.dup2(err, 2)
        os.close(err)
        _retitle(run_dir)
        try:
            os.chdir(request["cwd"])
        except OSError as exc:
            wrapper.write_exit(run_dir, wrapper._exit_text({"error": f"cannot enter {request['cwd']}: {exc.strerror}"}))
            code = 0
            return
        _set_environment(run_dir)
        code = wrapper.run(run_dir)
    except BaseException:  # noqa: BLE001 - as a wrapper's own crash: a traceback in wrapper.err
        import traceback

        traceback.print_exc()
    finally:
        try:
            if sys.stderr is not None:
                sys.stderr.flush()
        finally:
            os._exit(code)


def _reap() -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(sock: int) -> None:
    os.umask(0o077)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    _signal.set_wakeup_fd(wake_w)
    _signal.signal(_signal.SIGCHLD, lambda _s, _f: None)
    for sig in (_signal.SIGINT, _signal.SIGHUP):
        _signal.signal(sig, _signal.SIG_IGN)  # only the supervisor's going away ends us
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        for fd, _events in poller.poll():
            if fd == wake_r:
                os.read(wake_r, 256)
                continue
            try:
                data = os.read(sock, 65536)
            except OSError:  # ECONNRESET: the supervisor died with a request of ours unanswered
                data = b""
            if not data:
                _reap()
                return  # the supervisor is gone: so are we (our wrappers are not)
            request = marshal.loads(data)
            try:
                # Exclusive: recovery takes this name (as a directory) to stop a start it cannot
                # otherwise rule out (recovery.py, "Never started").
                err = os.open(wrapper._join(request["run_dir"], wrapper.ERR_FILE),
                              os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            except OSError as exc:
                os.write(sock, marshal.dumps({"error": f"{wrapper.ERR_FILE}: {exc.strerror}"}))
                continue
            try:
                pid = os.fork()
            except OSError as exc:
                os.close(err)
                os.write(sock, marshal.dumps({"error": f"fork: {exc.strerror}"}))
                continue
            if pid == 0:
                _child(sock, request, err, [wake_r, wake_w])
            os.close(err)
        _reap()


def main(sock: str) -> None:
    serve(int(sock))
    os._exit(0)
