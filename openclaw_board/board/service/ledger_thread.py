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
from enum import Enum
from pathlib import Path
from typing import Any, assert_never

import peewee as pw

from ...ledger import LedgerError
from ...ledger.api import BoardReads, ReadLedger, operator_action
from ...ledger.clock import Clock
from ...ledger.db import parse_url
from ...ledger.multi import open_ledgers
from ...ledger.openclaw import is_openclaw_url, resolve_path
from ..view.model import Board, ViewSpec
from .answers import ActionDone, Answer, Inspected, Loaded, Trouble
from .board_reads import Reader, data_version
from .requests import Act, ActMany, Call, ChangeView, Inspect, Load, Preview, Request

RETRY_S = 2.0


Deliver = Callable[[Answer], None]


class _Signal(Enum):
    """The thread's own wake-ups, next to the UI's requests in one queue."""

    POKE = "poke"  # something may have changed (a file event)
    TICK = "tick"  # the poll timer
    STOP = "stop"


class Service:
    reader: Reader | None  # None until the ledger is open, and again after trouble

    def __init__(self, url: str | tuple[str, ...], deliver: Deliver, *, clock: Clock | None = None,
                 poll_s: float | None = 3.0) -> None:
        self.url = url
        self.clock = clock
        self.deliver = deliver
        self.poll_s = poll_s  # None: no timer (tests and screenshots stay still)
        self._requests: queue.Queue[Request | _Signal] = queue.Queue()
        self._poked = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-ledger", daemon=True)
        self.ledger: ReadLedger | None = None
        self.reader: Reader | None = None
        self.spec = ViewSpec()
        self._version: int | None = None
        self._inode: tuple[int, int] | None = None
        self._trouble: str | None = None
        self.pending = 0  # requests not yet answered (read by the UI for `settled`)
        self._lock = threading.Lock()
        self._latest_preview: Preview | None = None  # the one Preview worth reading
        self.previews_read = 0  # how many Previews were read (the rest were passed over)

    # -- called from the UI thread -----------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._requests.put(_Signal.STOP)
        self._thread.join(timeout=5)

    def submit(self, request: Request) -> None:
        with self._lock:
            self.pending += 1
            if isinstance(request, Preview):
                self._latest_preview = request
        self._requests.put(request)

    def poke(self) -> None:
        """Something may have changed (a file event, a timer): check, cheaply, once."""
        self._poked.set()
        self._requests.put(_Signal.POKE)

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                request: Request | _Signal
                try:
                    request = self._requests.get(timeout=RETRY_S if self._trouble else self.poll_s)
                except queue.Empty:
                    request = _Signal.TICK
                if request is _Signal.STOP:
                    break
                try:
                    self._handle(request)
                finally:
                    if not isinstance(request, _Signal):
                        with self._lock:
                            self.pending -= 1
        finally:
            if self.ledger is not None:
                self.ledger.close()

    def _handle(self, request: Request | _Signal) -> None:
        match request:
            case _Signal.STOP:
                return  # the loop stops before it gets here
            case _Signal.POKE | _Signal.TICK:
                if request is _Signal.POKE and not self._poked.is_set():
                    return  # already handled by an earlier poke in this burst
                self._poked.clear()
                self._guarded(self._check, False)
            case Load(spec, seq):
                self.spec = spec
                self._guarded(lambda: self._emit(self._reader().full(spec), seq))
            case ChangeView(spec, seq):
                self.spec = spec
                self._guarded(lambda: self._emit(self._reader().change_view(spec), seq))
            case Act(verb, ref, label):
                self._action(verb, ref, label)
            case ActMany(action, calls, skipped):
                self._bulk(action, calls, skipped)
            case Inspect(kind, ref):
                self._inspect(kind, ref)
            case Preview(kind, ref):
                with self._lock:
                    stale = request is not self._latest_preview
                if not stale:  # a later Preview is queued behind this one: it alone is read
                    self.previews_read += 1
                    self._inspect(kind, ref)
            case Call(fn):
                fn(self._ledger_or_none())
            case _:
                assert_never(request)

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

    def _ledger_or_none(self) -> BoardReads | None:
        try:
            return self._reader().ledger
        except (LedgerError, pw.DatabaseError, OSError):
            return None

    def _reader(self) -> Reader:
        if self.reader is None:
            self.ledger = open_ledgers(self.url, clock=self.clock, create=False)
            # The board only reads here; a long lock should show a banner, not freeze us.
            self.ledger.set_busy_timeout(2000)
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
            self._reader()
            assert self.ledger is not None  # opened by _reader
            operator_action(self.ledger, verb)(ref, "board")
        except LedgerError as exc:
            self.deliver(ActionDone(False, _describe(exc)))
        except (pw.DatabaseError, OSError) as exc:
            self.deliver(ActionDone(False, f"{label}: the ledger refused: {_describe(exc)}"))
        else:
            self.deliver(ActionDone(True, label))
        self._guarded(self._check, True)

    def _bulk(self, action: str, calls: tuple[tuple[str, str], ...], skipped: tuple[tuple[str, int], ...]) -> None:
        from collections import Counter

        from ..view.bulk import summary

        done = 0
        refused: Counter[str] = Counter(dict(skipped))
        try:
            self._reader()
            assert self.ledger is not None  # opened by _reader
            for verb, ref in calls:
                try:
                    operator_action(self.ledger, verb)(ref, "board")
                except LedgerError as exc:  # moved on since it was marked: count it, go on
                    refused[_refusal(exc)] += 1
                else:
                    done += 1
        except (LedgerError, pw.DatabaseError, OSError) as exc:
            self.deliver(ActionDone(False, f"{summary(action, done, refused.items())}; then: {_describe(exc)}"))
        else:
            self.deliver(ActionDone(done > 0 or not calls, summary(action, done, refused.items())))
        self._guarded(self._check, True)

    def _inspect(self, kind: str, ref: str) -> None:
        from .details import flow_details, task_details

        try:
            self._reader()
            assert self.ledger is not None  # opened by _reader
            ledger = self.ledger
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


def _refusal(exc: LedgerError) -> str:
    """A ledger's refusal in a few words that many refusals share ("already finished")."""
    text = _describe(exc)
    if "terminal" in text or "already" in text:
        return "already finished"
    return "refused: " + text[:60]


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
