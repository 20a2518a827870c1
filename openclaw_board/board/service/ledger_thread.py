"""The board's one database thread: loads, refreshes, inspections and actions, in order.

Nothing on the UI thread touches the database. Requests are queued; change notices
("poke", from the file watcher or the poll timer) coalesce, so refreshes never overlap
and a burst of commits costs one read. Results go back to the app as messages.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from ...ledger import Ledger, LedgerError
from ...ledger.clock import Clock
from ...ledger.db import parse_url
from ...ledger.multi import open_ledgers
from ...ledger.openclaw import is_openclaw_url, resolve_path
from ..view.model import Board, ViewSpec
from .board_reads import Reader, data_version

RETRY_S = 2.0


@dataclass(frozen=True)
class Loaded:
    board: Board
    seq: int  # the request that produced it (0: a live change)


@dataclass(frozen=True)
class Trouble:
    message: str | None  # None: the trouble is over


@dataclass(frozen=True)
class ActionDone:
    ok: bool
    message: str


@dataclass(frozen=True)
class Inspected:
    kind: str
    ref: str
    data: dict[str, Any] | None
    error: str | None = None


Deliver = Callable[[object], None]


class Service:
    def __init__(self, url: str | tuple[str, ...], deliver: Deliver, *, clock: Clock | None = None,
                 poll_s: float | None = 3.0) -> None:
        self.url = url
        self.clock = clock
        self.deliver = deliver
        self.poll_s = poll_s  # None: no timer (tests and screenshots stay still)
        self._requests: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._poked = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-ledger", daemon=True)
        self.ledger: Ledger | None = None
        self.reader: Reader | None = None
        self.spec = ViewSpec()
        self._version: int | None = None
        self._inode: tuple[int, int] | None = None
        self._trouble: str | None = None
        self.pending = 0  # requests not yet answered (read by the UI for `settled`)
        self._lock = threading.Lock()

    # -- called from the UI thread -----------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._requests.put(("stop",))
        self._thread.join(timeout=5)

    def submit(self, *request: Any) -> None:
        with self._lock:
            self.pending += 1
        self._requests.put(request)

    def poke(self) -> None:
        """Something may have changed (a file event, a timer): check, cheaply, once."""
        self._poked.set()
        self._requests.put(("poke",))

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    request = self._requests.get(timeout=RETRY_S if self._trouble else self.poll_s)
                except queue.Empty:
                    request = ("tick",)
                if request[0] == "stop":
                    break
                try:
                    self._handle(request)
                finally:
                    if request[0] not in ("poke", "tick"):
                        with self._lock:
                            self.pending -= 1
        finally:
            if self.ledger is not None:
                self.ledger.close()

    def _handle(self, request: tuple[Any, ...]) -> None:
        kind = request[0]
        if kind in ("poke", "tick"):
            if kind == "poke" and not self._poked.is_set():
                return  # already handled by an earlier poke in this burst
            self._poked.clear()
            self._guarded(self._check, False)
        elif kind == "load":
            self.spec = request[1]
            self._guarded(lambda: self._emit(self._reader().full(self.spec), request[2]))
        elif kind == "view":
            self.spec = request[1]
            self._guarded(lambda: self._emit(self._reader().change_view(self.spec), request[2]))
        elif kind == "action":
            self._action(*request[1:])
        elif kind == "inspect":
            self._inspect(request[1], request[2])
        elif kind == "call":
            request[1](self._ledger_or_none())

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a read; on trouble show a banner, drop the connection and retry later."""
        try:
            fn(*args)
        except (LedgerError, pw.DatabaseError, pw.InterfaceError, OSError) as exc:
            self._fail(_describe(exc))
        else:
            if self._trouble:
                self._trouble = None
                self.deliver(Trouble(None))

    def _fail(self, message: str) -> None:
        if self.ledger is not None:
            try:
                self.ledger.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close too
                pass
        self.ledger = None
        self.reader = None
        if message != self._trouble:
            self._trouble = message
            self.deliver(Trouble(message))

    def _ledger_or_none(self) -> Ledger | None:
        try:
            return self._reader().ledger
        except (LedgerError, pw.DatabaseError, OSError):
            return None

    def _reader(self) -> Reader:
        if self.reader is None:
            self.ledger = open_ledgers(self.url, clock=self.clock, create=False)
            if self.ledger.is_sqlite:
                # The board only reads here; a long lock should show a banner, not freeze us.
                self.ledger.db.execute_sql("PRAGMA busy_timeout = 2000")
            self.reader = Reader(self.ledger)
            self._inode = self._file_identity()
            self._version = data_version(self.ledger)
        return self.reader

    def _file_identity(self) -> tuple[int, int] | None:
        path = sqlite_path(self.url)
        if path is None:
            return None
        st = os.stat(path)  # FileNotFoundError is an OSError: the banner says so
        return (st.st_dev, st.st_ino)

    def _check(self, force: bool) -> None:
        if self.reader is None:
            # Recovering: open again and load everything.
            self._emit(self._reader().full(self.spec), 0)
            return
        if self._inode is not None and self._file_identity() != self._inode:
            raise LedgerError(f"ledger file {sqlite_path(self.url)} was replaced or removed")
        assert self.ledger is not None
        version = data_version(self.ledger)
        if not force and version is not None and version == self._version:
            return  # nothing committed since we last looked: no work at all
        self._version = version
        board = self.reader.refresh()
        if board is not None:
            self._emit(board, 0)

    def _emit(self, board: Board, seq: int) -> None:
        self.deliver(Loaded(board, seq))

    def _action(self, verb: str, ref: str, label: str) -> None:
        try:
            ledger = self._reader().ledger
            getattr(ledger, verb)(ref, actor="board")
        except LedgerError as exc:
            self.deliver(ActionDone(False, _describe(exc)))
        except (pw.DatabaseError, OSError) as exc:
            self.deliver(ActionDone(False, f"{label}: the ledger refused: {_describe(exc)}"))
        else:
            self.deliver(ActionDone(True, label))
        self._guarded(self._check, True)

    def _inspect(self, kind: str, ref: str) -> None:
        from .details import flow_details, task_details

        try:
            ledger = self._reader().ledger
            data = task_details(ledger, ref) if kind == "task" else flow_details(ledger, ref)
        except (LedgerError, pw.DatabaseError, OSError) as exc:
            self.deliver(Inspected(kind, ref, None, _describe(exc)))
        else:
            self.deliver(Inspected(kind, ref, data))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if isinstance(exc, pw.OperationalError) and "locked" in first:
        return "the ledger is locked by another process; retrying"
    if isinstance(exc, FileNotFoundError):
        return f"ledger file {exc.filename} is gone; waiting for it to come back"
    return first


def sqlite_path(url: str | tuple[str, ...]) -> Path | None:
    """The SQLite file behind a ledger URL (ours, or an OpenClaw install's), to watch.
    None for several ledgers side by side: those are polled."""
    if not isinstance(url, str):
        return None
    try:
        if is_openclaw_url(url):
            return resolve_path(url)
        parsed = parse_url(url)
    except LedgerError:
        return None
    return parsed.path if parsed.is_sqlite else None
