"""Open an OpenClaw ledger read-only, and find out which of its tables and columns exist.

The file is opened with SQLite's `mode=ro` (SQLITE_OPEN_READONLY) and `PRAGMA query_only`:
SQLite itself refuses any write, and the database file's bytes and mtime never change.
It is never migrated. In WAL mode (OpenClaw's) a reader still sees each commit the gateway
makes, live, through the -wal and -shm files; if no writer has them open, SQLite creates
them (empty) next to the database, like any reader does, and leaves them there. When we
run as root on someone else's install, those new files are handed to the database's owner
so that the gateway can still open them.

Each read runs in its own short transaction (a WAL read never blocks the gateway's writes;
on a rollback-journal database it holds a shared lock only for that read).

An older release's split ledger (tasks/runs.sqlite + flows/registry.sqlite) is one
connection to runs.sqlite with the registry ATTACHed read-only as schema `flows` on every
connect: one read transaction then covers both files, and SQLite refuses writes to either.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import peewee as pw

from ..db import not_a_database
from ..errors import LedgerUnavailable
from .openclaw_tables import (
    DELIVERY_COLUMNS,
    FLOW_COLUMNS,
    REQUIRED_FLOW_COLUMNS,
    REQUIRED_TASK_COLUMNS,
    TASK_COLUMNS,
    Schema,
    build_model,
)

BUSY_TIMEOUT_MS = 5000
SIDECARS = ("-wal", "-shm")
FLOWS_SCHEMA = "flows"  # the attached registry of a split (older) ledger


class _SplitDatabase(pw.SqliteDatabase):
    """A read-only connection to runs.sqlite with flows/registry.sqlite attached read-only."""

    def __init__(self, database: str, registry_uri: str, **kw: Any) -> None:
        self.registry_uri = registry_uri
        super().__init__(database, **kw)

    def _add_conn_hooks(self, conn: sqlite3.Connection) -> None:
        super()._add_conn_hooks(conn)  # type: ignore[misc]  # Peewee's own hook, not in its stubs
        # A bound parameter, not peewee's attach(): the path is never parsed as SQL. The
        # main connection was opened as a URI, so `mode=ro` applies to the registry too.
        conn.execute(f"ATTACH DATABASE ? AS {FLOWS_SCHEMA}", (self.registry_uri,))


def ro_uri(path: Path) -> str:
    """A SQLite URI that opens `path` read-only."""
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def _check_file(path: Path) -> None:
    """Only `stat`: never open() a SQLite file this process may hold a connection to (its
    POSIX locks would be dropped; see ledger/db.py). SQLite says whether it is a database."""
    if not path.exists():
        raise LedgerUnavailable(
            f"no OpenClaw ledger at {path} (give openclaw:///path/to/openclaw.sqlite, "
            "or set OPENCLAW_STATE_DIR)"
        )
    if path.is_dir():
        raise LedgerUnavailable(f"{path} is a directory, not an OpenClaw ledger")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LedgerUnavailable(f"cannot read OpenClaw ledger {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise LedgerUnavailable(f"{path} is not an OpenClaw ledger: not a SQLite database (empty file)")
    if not os.access(path, os.R_OK):
        raise LedgerUnavailable(f"cannot read OpenClaw ledger {path}: Permission denied")


def _not_sqlite(path: Path) -> bool:
    """Asked of SQLite (a connection of its own is safe beside ours; a plain open() is not)."""
    try:
        conn = sqlite3.connect(ro_uri(path), uri=True, timeout=1)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return not_a_database(exc)
    return False


def _give_sidecars_to_owner(path: Path, existed: set[str]) -> None:
    """Sidecars SQLite just created for us belong to the database's owner, not to root."""
    if os.getuid() != 0:
        return
    try:
        st = path.stat()
    except OSError:
        return
    for suffix in SIDECARS:
        side = Path(str(path) + suffix)
        if suffix in existed:
            continue
        try:
            if side.exists() and side.stat().st_uid != st.st_uid:
                os.chown(side, st.st_uid, st.st_gid)
                os.chmod(side, st.st_mode & 0o666)
        except OSError:
            pass


def _columns(db: pw.Database, table: str, schema: str = "main") -> frozenset[str]:
    return frozenset(r[1] for r in db.execute_sql(f'PRAGMA {schema}.table_info("{table}")').fetchall())


def _tables(db: pw.Database, schema: str = "main") -> set[str]:
    return {r[0] for r in db.execute_sql(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'").fetchall()}


def open_readonly(path: Path, registry: Path | None = None) -> tuple[pw.SqliteDatabase, Schema]:
    """The database, connected read-only, and its schema; LedgerUnavailable if it is not OpenClaw's.

    `registry`: an older release's flows/registry.sqlite, attached read-only for its flow_runs.
    """
    _check_file(path)
    if registry is not None:
        _check_file(registry)
    existed = {s for s in SIDECARS if Path(str(path) + s).exists()}
    reg_existed = {s for s in SIDECARS if registry is not None and Path(str(registry) + s).exists()}
    kw: dict = dict(uri=True, pragmas={"query_only": 1, "busy_timeout": BUSY_TIMEOUT_MS},
                    timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, thread_safe=False,
                    autoconnect=True)
    db = (_SplitDatabase(ro_uri(path), ro_uri(registry), **kw) if registry is not None
          else pw.SqliteDatabase(ro_uri(path), **kw))
    flow_schema: str | None = None
    try:
        db.connect(reuse_if_open=True)
        tables = _tables(db)
        _give_sidecars_to_owner(path, existed)
        if registry is not None:
            try:
                reg_tables = _tables(db, FLOWS_SCHEMA)
            except (pw.DatabaseError, sqlite3.Error) as exc:
                if not_a_database(exc):
                    raise LedgerUnavailable(f"{registry} is not an OpenClaw ledger: not a SQLite database") from exc
                raise LedgerUnavailable(f"{registry} cannot be read as OpenClaw's flow registry: {exc}") from exc
            _give_sidecars_to_owner(registry, reg_existed)
            if "flow_runs" in reg_tables:
                flow_schema = FLOWS_SCHEMA
        if "task_runs" not in tables:
            what = "it is our own ledger (use sqlite:///...)" if "ledger_meta" in tables else "no task_runs table"
            raise LedgerUnavailable(f"{path} is not an OpenClaw ledger: {what}")
        task_cols = _columns(db, "task_runs")
        missing = REQUIRED_TASK_COLUMNS - task_cols
        if missing:
            raise LedgerUnavailable(
                f"{path} is not an OpenClaw ledger we can read: task_runs has no {', '.join(sorted(missing))}")
        if flow_schema is not None:
            flow_cols = _columns(db, "flow_runs", flow_schema)
        else:
            flow_cols = _columns(db, "flow_runs") if "flow_runs" in tables else frozenset()
        if flow_cols and REQUIRED_FLOW_COLUMNS - flow_cols:
            flow_cols = frozenset()  # unreadable flows: show the tasks, each as its own flow
        delivery_cols = (_columns(db, "task_delivery_state")
                         if "task_delivery_state" in tables else frozenset())
        if "task_id" not in delivery_cols:
            delivery_cols = frozenset()
    except LedgerUnavailable:
        db.close()
        raise
    except (pw.DatabaseError, sqlite3.Error) as exc:
        db.close()
        if not_a_database(exc):
            bad = registry if registry is not None and _not_sqlite(registry) else path
            raise LedgerUnavailable(f"{bad} is not an OpenClaw ledger: not a SQLite database") from exc
        raise LedgerUnavailable(f"{path} cannot be read as an OpenClaw ledger: {exc}") from exc
    schema = Schema(
        flows_attached=registry is not None, task_columns=task_cols, flow_columns=flow_cols,
        delivery_columns=delivery_cols,
        Task=build_model(db, "task_runs", TASK_COLUMNS, set(task_cols), "task_id"),
        Flow=(build_model(db, "flow_runs", FLOW_COLUMNS, set(flow_cols), "flow_id", schema=flow_schema)
              if flow_cols else None),
        Delivery=(build_model(db, "task_delivery_state", DELIVERY_COLUMNS, set(delivery_cols), "task_id")
                  if delivery_cols else None),
    )
    return db, schema


def looks_like_openclaw(path: Path) -> bool:
    """A SQLite file with OpenClaw's task_runs table and none of our own tables."""
    try:
        # stat only, never open(): see _check_file.
        if not path.is_file() or path.stat().st_size == 0:
            return False
        existed = {s for s in SIDECARS if Path(str(path) + s).exists()}
        conn = sqlite3.connect(ro_uri(path), uri=True, timeout=5)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
        _give_sidecars_to_owner(path, existed)
    except (OSError, sqlite3.Error):
        return False
    return "task_runs" in names and "ledger_meta" not in names
