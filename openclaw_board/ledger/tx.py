"""Write transactions: the NOTIFY each one sends on PostgreSQL, and the error it raises on
a full disk.

`NotifyingAtomic` is `db.atomic()` that sends one pg_notify with the kinds of change
collected in the outermost transaction, just before it commits (nothing when nothing
changed). A failed transaction on a full disk raises LedgerFull, with one line an operator
can act on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from types import TracebackType

import peewee as pw

from .errors import LedgerFull


class TxState(threading.local):
    """Per thread: how deep the open transaction is nested, and the kinds of change it made
    (None: nobody listens, nothing is collected)."""

    def __init__(self) -> None:
        self.depth = 0
        self.kinds: set[str] | None = None


class NotifyingAtomic:
    def __init__(self, db: pw.Database, state: TxState, channel: str | None,
                 explain: Callable[[BaseException], BaseException]) -> None:
        self.db = db
        self.state = state
        self.channel = channel
        self.explain = explain
        self.inner = db.atomic()

    def __enter__(self) -> object:
        tx = self.state
        depth = tx.depth
        if depth == 0:
            tx.kinds = set() if self.channel else None
        tx.depth = depth + 1
        try:
            return self.inner.__enter__()
        except BaseException:
            tx.depth = depth
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        tx = self.state
        tx.depth -= 1
        kinds = tx.kinds if tx.depth == 0 else None
        if tx.depth == 0:
            tx.kinds = None
        from_body = exc is not None
        if not from_body and kinds:
            try:
                self.db.execute_sql("SELECT pg_notify(%s, %s)", (self.channel, ",".join(sorted(kinds))))
            except BaseException as err:
                exc_type, exc, tb = type(err), err, err.__traceback__  # roll back, then raise it
        try:
            # Peewee's _atomic.__exit__ returns whatever its transaction's exit does (falsy).
            suppressed = bool(self.inner.__exit__(exc_type, exc, tb))  # type: ignore[func-returns-value]
        except pw.DatabaseError as err:
            # The COMMIT failed, or the ROLLBACK after an error did. SQLite rolls a transaction
            # back by itself on some errors (a full disk among them); Peewee's ROLLBACK then
            # fails with "cannot rollback - no transaction is active", and that error would
            # hide the one that matters: the first failure is what we raise.
            raise self.explain(exc if exc is not None else _first_failure(err))  # noqa: B904
        if exc is not None and not suppressed:
            explained = self.explain(exc)
            if explained is not exc or not from_body:
                raise explained
        return suppressed


def _first_failure(err: BaseException) -> BaseException:
    """The database error `err` was raised over (Peewee rolls back after a failed COMMIT and
    raises the rollback's error if that fails too), else `err` itself."""
    seen = err.__context__
    while seen is not None:
        if isinstance(seen, pw.DatabaseError):
            return seen
        seen = seen.__context__
    return err


def as_ledger_error(exc: BaseException, *, is_sqlite: bool, where: str) -> BaseException:
    """The error to raise for a failed transaction: a full disk becomes LedgerFull, with
    one line an operator can act on; anything else is returned as it is."""
    if not isinstance(exc, pw.DatabaseError) or not _disk_full(exc, is_sqlite):
        return exc
    detail = (str(exc).strip().splitlines() or ["disk full"])[0]
    full = LedgerFull(f"ledger {where}: disk full ({detail})")
    full.__cause__ = exc
    return full


def _disk_full(exc: BaseException, is_sqlite: bool) -> bool:
    """SQLITE_FULL, or PostgreSQL's disk_full (53100): Peewee's error, or the driver's under it."""
    if is_sqlite:
        def full(e: BaseException) -> bool:
            return isinstance(e, sqlite3.Error) and e.sqlite_errorcode == sqlite3.SQLITE_FULL
    else:
        from psycopg2.errors import DiskFull

        def full(e: BaseException) -> bool:
            return isinstance(e, DiskFull)
    seen: BaseException | None = exc
    for _ in range(3):
        if seen is None:
            return False
        if full(seen):
            return True
        seen = seen.__context__
    return False
