"""Change notifications over PostgreSQL LISTEN/NOTIFY, for supervisors and boards on any host.

Writers: every ledger write transaction that changes something collects what kind of
change it made (`LedgerBase._notify`) and, just before it commits, sends ONE
`pg_notify(<channel>, "<kind>,<kind>...")`. PostgreSQL delivers a notification only when
its transaction commits, so a listener never hears of a change it cannot see yet, and a
rolled-back write says nothing. A write that changes nothing (a claim that found no work,
a heartbeat) notifies nobody, so that idle supervisors do not wake each other in a loop.

Kinds: `queued` (work may have become claimable: a task queued, approved, retried, or a
success that may unblock dependents), `cancel` (a cancel was requested for a running
task), `supervisor` (a supervisor was declared dead), `change` (anything else).

The channel is per schema (`openclaw_board` in `public`, `openclaw_board.<schema>`
elsewhere), so that ledgers in different schemas of one database do not wake each other.

Readers: `ChangeListener(url)` holds its own autocommit psycopg2 connection that LISTENs;
`wait(timeout) -> bool` (for a worker thread) or `fileno()` + `poll()` (for a select loop).
It reconnects and LISTENs again after a connection loss and then reports a change (what
happened while it was deaf is unknown). On SQLite there is nothing to listen to: `wait`
sleeps its timeout and returns False (the board watches the file there).
Notifications are a shortcut, not the truth: every user keeps polling as a fallback.

SQLite: `FileListener(url, version=...)` is the same reader shape (`listening`, `fileno()`,
`poll()`, `close()`) over inotify on the ledger's directory: a commit by any process writes
the `-wal` file, which makes the fd readable. There are no kinds on a file, so a change
reports every kind asked for. With `version` (the reader's own `PRAGMA data_version`, which
moves only on OTHER connections' commits) a reader's own writes wake nobody: an event whose
commit the version does not show yet (the writer appends to the WAL a moment before it
publishes the commit in the shared index) is looked at again after `recheck_s()`, for up to
RECHECK_FOR_S. `listener_for(url, ...)` gives the right one of the two.
"""

from __future__ import annotations

import os
import select
import struct
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .db import parse_url, redact
from .errors import first_line

CHANNEL = "openclaw_board"
QUEUED, CANCEL, SUPERVISOR, CHANGE = "queued", "cancel", "supervisor", "change"
RECONNECT_EVERY_S = 1.0
RECHECK_EVERY_S = 0.002  # an event the data version does not show yet: look again this soon
RECHECK_FOR_S = 0.05  # ... for this long; after that it was a write of our own (or a checkpoint)


def channel_for_schema(schema: str | None) -> str:
    return CHANNEL if not schema or schema == "public" else f"{CHANNEL}.{schema}"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class ChangeListener:
    """LISTEN for ledger changes on PostgreSQL. Thread-safe enough for one reader thread
    plus `close()` from any thread (which also interrupts a `wait`)."""

    def __init__(self, url: str, kinds: Iterable[str] | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.url = url
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.log = log
        self.is_postgres = parse_url(url).kind == "postgresql"
        self.channel: str | None = None
        self.error: str | None = None  # the last connection trouble, redacted
        self.reconnects = 0
        self._conn = None
        self._closed = False
        self._next_try = 0.0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        if self.is_postgres:
            self._connect()

    # -- connection --------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._conn is not None

    def _connect(self) -> bool:
        import psycopg2
        import psycopg2.extensions

        self._next_try = time.monotonic() + RECONNECT_EVERY_S
        try:
            # libpq takes the URL as it is (options=-csearch_path=... included); a short
            # connect timeout so that a dead server does not stall a supervisor's loop.
            conn = psycopg2.connect(self.url.replace("postgres://", "postgresql://", 1), connect_timeout=3)
            conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with conn.cursor() as cur:
                cur.execute("SELECT current_schema()")
                row = cur.fetchone()
                self.channel = channel_for_schema(row[0] if row else None)
                cur.execute(f"LISTEN {_quote_ident(self.channel)}")
        except Exception as exc:  # noqa: BLE001 - any failure: stay deaf, poll, try again later
            self._set_error(exc)
            return False
        self._conn = conn
        if self.error is not None and self.log is not None:
            self.log("change notifications: listening again")
        self.error = None
        return True

    def _set_error(self, exc: BaseException) -> None:
        first = first_line(exc)
        message = redact(first) if "://" in first else first
        if message != self.error and self.log is not None:
            self.log(f"change notifications unavailable, polling instead: {message}")
        self.error = message

    def _drop(self, exc: BaseException) -> None:
        self._set_error(exc)
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is broken already
                pass

    def fileno(self) -> int | None:
        """The socket to select() on, or None when not listening (SQLite, or reconnecting)."""
        conn = self._conn
        if conn is None:
            return None
        try:
            return conn.fileno()
        except Exception as exc:  # noqa: BLE001
            self._drop(exc)
            return None

    # -- reading -----------------------------------------------------------------------

    def recheck_s(self) -> float | None:
        """Same shape as FileListener's: a notification needs no second look."""
        return None

    def settle(self) -> set[str]:
        """Same shape as FileListener's: our own commits notify nothing we listen to."""
        return set()

    def poll(self) -> set[str]:
        """Kinds of the changes notified since the last call (non-blocking; filtered by
        `kinds`). After a reconnect: {"change", "reconnected"}, as anything may have changed."""
        if not self.is_postgres or self._closed:
            return set()
        if self._conn is None:
            if time.monotonic() < self._next_try or not self._connect():
                return set()
            self.reconnects += 1
            return {CHANGE, "reconnected"}
        conn = self._conn
        try:
            conn.poll()
        except Exception as exc:  # noqa: BLE001 - the server went away: reconnect on a later call
            self._drop(exc)
            return set()
        found: set[str] = set()
        while conn.notifies:
            note = conn.notifies.pop(0)
            found.update(k for k in (note.payload or CHANGE).split(",") if k)
        if self.kinds is not None:
            found &= self.kinds
        return found

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True as soon as a (matching) change is notified.
        False on timeout, after close(), and always on SQLite (after sleeping `timeout`)."""
        deadline = time.monotonic() + max(0.0, timeout)
        while not self._closed:
            if self.poll():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            fd = self.fileno()
            fds = [self._wake_r] + ([fd] if fd is not None else [])
            # While reconnecting, look again at the next reconnect time.
            step = left if fd is not None or not self.is_postgres else min(left, RECONNECT_EVERY_S)
            try:
                select.select(fds, [], [], step)
            except (OSError, ValueError):
                time.sleep(min(step, 0.05))
        return False

    def close(self) -> None:
        self._closed = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> ChangeListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        for fd in (getattr(self, "_wake_r", None), getattr(self, "_wake_w", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


class ChangeWatcher:
    """A thread that calls `poke()` whenever the ledger notifies a change: the PostgreSQL
    counterpart of the board's SQLite file watch (same start/stop/working/error shape).
    Does nothing on SQLite (`working` stays False)."""

    def __init__(self, url: str, poke: Callable[[], None], *, timeout_s: float = 5.0) -> None:
        self.url = url
        self.poke = poke
        self.timeout_s = timeout_s
        self.working = False
        self.error: str | None = None
        self._listener: ChangeListener | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-listen", daemon=True)

    def start(self) -> None:
        if parse_url(self.url).kind == "postgresql":
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        try:
            self._listener = ChangeListener(self.url)
            if self._stop.is_set():
                self._listener.close()
            while not self._stop.is_set():
                self.working = self._listener.listening
                self.error = self._listener.error
                if self._listener.wait(self.timeout_s) and not self._stop.is_set():
                    self.poke()
        except Exception as exc:  # noqa: BLE001 - listening is an optimisation: the board polls anyway
            self.error = str(exc)
        finally:
            self.working = False
            if self._listener is not None:
                self._listener.close()


# <sys/inotify.h>
_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x2, 0x8, 0x80, 0x100
_IN_NONBLOCK, _IN_CLOEXEC = 0o4000, 0o2000000
_EVENT = struct.Struct("iIII")


def _inotify_fd(directory: Path) -> int:
    """An inotify fd watching `directory` (not recursively) for writes and new names. OSError
    where there is none (not Linux, no ctypes, too many watches)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        init1, add_watch = libc.inotify_init1, libc.inotify_add_watch
    except (OSError, AttributeError) as exc:
        raise OSError(f"no inotify here: {exc}") from None
    fd = int(init1(_IN_NONBLOCK | _IN_CLOEXEC))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"inotify_init1: {os.strerror(err)}")
    mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
    if add_watch(fd, os.fsencode(directory), mask) < 0:
        err = ctypes.get_errno()
        os.close(fd)
        raise OSError(err, f"inotify_add_watch {directory}: {os.strerror(err)}")
    return fd


class FileListener:
    """Wakes a select loop when another process commits to a SQLite ledger (see the module
    docstring). `listening` is False where inotify cannot be had; the reader then polls."""

    def __init__(self, url: str, kinds: Iterable[str] | None = None, log: Callable[[str], None] | None = None,
                 version: Callable[[], int | None] | None = None) -> None:
        self.kinds = frozenset(kinds) if kinds is not None else frozenset({QUEUED, CANCEL, SUPERVISOR, CHANGE})
        self.version = version
        self.error: str | None = None
        self._fd: int | None = None
        self._seen = version() if version is not None else None
        self._pending_since: float | None = None
        path = parse_url(url).path
        if path is None:
            self.error = "not a SQLite ledger"
            return
        path = Path(path).resolve()
        self._names = {os.fsencode(path.name + suffix) for suffix in ("", "-wal", "-journal")}
        try:
            self._fd = _inotify_fd(path.parent)
        except OSError as exc:
            self.error = str(exc)
            if log is not None:
                log(f"change notifications unavailable, polling instead: {exc}")

    @property
    def listening(self) -> bool:
        return self._fd is not None

    def fileno(self) -> int | None:
        return self._fd

    def recheck_s(self) -> float | None:
        """How soon to call poll() again although the fd says nothing (None: no need)."""
        return RECHECK_EVERY_S if self._pending_since is not None else None

    def settle(self) -> set[str]:
        """Call when about to wait, after writes of our own (needs `version`): what was heard
        since the last look is judged at once by the data version (every kind asked for when
        another connection's commit shows) and is not looked at again. A commit of another's
        that was written but not yet published by then goes unheard: the reader's poll is the
        fallback. An earlier event still being looked at again (`recheck_s`) stays so."""
        if self._fd is None or self.version is None:
            return set()
        if not self._drain() and self._pending_since is None:
            return set()  # nothing written since the last look: the version cannot have moved
        now = self.version()
        if now is None or now == self._seen:
            return set()
        self._seen = now
        self._pending_since = None
        return set(self.kinds)

    def poll(self) -> set[str]:
        """Every kind asked for when another connection committed since the last call, else
        an empty set (non-blocking)."""
        if self._fd is None:
            return set()
        if self._drain():
            self._pending_since = time.monotonic()
        if self._pending_since is None:
            return set()
        if self.version is not None:
            now = self.version()
            if now is not None and now == self._seen:
                if time.monotonic() - self._pending_since > RECHECK_FOR_S:
                    self._pending_since = None
                return set()
            self._seen = now
        self._pending_since = None
        return set(self.kinds)

    def _drain(self) -> bool:
        """Read every queued event; True when one was about the ledger's files."""
        assert self._fd is not None
        hit = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return hit
            except OSError:
                return True  # cannot tell: say something changed (the version check still applies)
            if not data:
                return hit
            at = 0
            while at + _EVENT.size <= len(data):
                _wd, _mask, _cookie, size = _EVENT.unpack_from(data, at)
                name = data[at + _EVENT.size: at + _EVENT.size + size].rstrip(b"\0")
                at += _EVENT.size + size
                hit = hit or name in self._names

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> FileListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def listener_for(url: str, kinds: Iterable[str] | None = None, log: Callable[[str], None] | None = None,
                 version: Callable[[], int | None] | None = None) -> ChangeListener | FileListener:
    """LISTEN/NOTIFY on PostgreSQL, the ledger file's changes on SQLite."""
    if parse_url(url).kind == "postgresql":
        return ChangeListener(url, kinds, log)
    return FileListener(url, kinds, log, version)
