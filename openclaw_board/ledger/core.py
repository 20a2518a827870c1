"""The ledger's base: opening a database, transactions, events, lookups by id or prefix,
flow status, the lease clock.

`Ledger` (in `ledger/__init__.py`) is its parts side by side, each a direct subclass of this
base, grouped by what they are about: `transitions` (operator writes), `runs` (the
supervisor's claims and records), `leases` and `supervisors` (ownership), `queries` (reads
for lists and the board), `audit` (findings and repairs). The moves several parts make
(settling a task, a new attempt) are functions over the base, in `settle.py`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, Self, TypeVar, cast

import peewee as pw

from . import db as dbmod
from . import planner
from .clock import Clock, system_clock
from .errors import Ambiguous, LedgerUnavailable, NotFound
from .models import FlowModel, Models, Table, TaskModel, build_models
from .notify import CANCEL, CHANGE, QUEUED, channel_for_schema
from .schema import ensure_schema
from .states import TERMINAL_FLOW, derive_flow_status
from .tx import NotifyingAtomic, TxState, as_ledger_error

# The database server's clock in ms since the epoch (PostgreSQL).
_DB_NOW_MS = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
_M = TypeVar("_M", bound=Table)
_ID_PREFIX = re.compile(r"^[0-9a-fA-F-]{1,36}$")


def new_id() -> str:
    return str(uuid.uuid4())


class LedgerBase:
    kind = "ours"
    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        create: bool = True,
        readonly: bool = False,
    ) -> None:
        self.url = url or dbmod.default_url()
        self.clock: Clock = clock or system_clock
        self.db, self.parsed_url = dbmod.connect(self.url, create=create, readonly=readonly)
        # A ledger we may not write (a read-only filesystem) is opened read-only: it can be read.
        self.readonly = readonly or self.parsed_url.read_only_file
        self.m: Models = build_models(self.db)
        try:
            ensure_schema(self.db, self.m, readonly=self.readonly)
        except pw.DatabaseError as exc:
            self.db.close()
            raise LedgerUnavailable(f"ledger {self.display_url} cannot be used: {dbmod.damage_hint(exc)}") from exc
        except LedgerUnavailable as exc:
            self.db.close()
            raise LedgerUnavailable(f"ledger {self.display_url}: {exc}") from None
        # Per thread: the kinds of change made by the transaction open in that thread.
        self._tx = TxState()
        # SQL text of the hot statements, built once (see `_run`): building it with Peewee on
        # every call was most of the supervisor's cost per task.
        self._stmts: dict[Any, Any] = {}
        self.notify_channel: str | None = None
        if not self.is_sqlite:
            row = self.db.execute_sql("SELECT current_schema()").fetchone()
            self.notify_channel = channel_for_schema(row[0] if row else None)

    # -- plumbing -------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return dbmod.redact(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.parsed_url.is_sqlite

    def close(self) -> None:
        if not self.db.is_closed():
            if not self.readonly:
                try:
                    self.optimize()
                except (pw.DatabaseError, pw.InterfaceError):
                    pass  # statistics are an optimisation: a ledger that went away still closes
            self.db.close()

    def data_version(self) -> int | None:
        """SQLite's counter of commits by other connections; None on PostgreSQL."""
        if not self.is_sqlite:
            return None
        return int(self.db.execute_sql("PRAGMA data_version").fetchone()[0])

    def source_of(self, flow_id: str) -> str | None:
        return None  # one ledger: every flow is ours

    def set_busy_timeout(self, ms: int) -> None:
        if self.is_sqlite:
            self.db.execute_sql(f"PRAGMA busy_timeout = {int(ms)}")

    def optimize(self) -> list[str]:
        """Refresh the query planner's statistics where they are stale (cheap when none are):
        on close, and from long-lived processes now and then. See planner.py."""
        return planner.optimize(self.db, self.is_sqlite)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> int:
        return self.clock()

    def atomic(self) -> NotifyingAtomic:
        """One write transaction. On SQLite it takes the write lock up front (IMMEDIATE).
        On PostgreSQL it NOTIFYs listeners of what it changed, delivered on commit."""
        return NotifyingAtomic(self.db, self._tx, self.notify_channel, self._as_ledger_error)

    def _as_ledger_error(self, exc: BaseException) -> BaseException:
        where = str(self.parsed_url.path) if self.is_sqlite else self.display_url
        return as_ledger_error(exc, is_sqlite=self.is_sqlite, where=where)

    def _notify(self, kind: str = CHANGE) -> None:
        """Record that the open transaction changed something (see notify.py for kinds)."""
        kinds = self._tx.kinds
        if kinds is not None:
            kinds.add(kind)

    def reset_connection(self) -> None:
        """Forget a connection the server dropped; the next query opens a new one."""
        try:
            self.db.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            self.db._state.reset()  # type: ignore[attr-defined]  # Peewee's per-thread state, not in its stubs

    def _event(
        self,
        flow_id: str,
        kind: str,
        *,
        task_id: str | None = None,
        src: str | None = None,
        dst: str | None = None,
        actor: str = "system",
        detail: str | None = None,
        at: int | None = None,
    ) -> None:
        if dst == "queued":
            self._notify(QUEUED)
        elif kind == "cancel_requested":
            self._notify(CANCEL)
        else:
            self._notify(CHANGE)
        self._run(
            'INSERT INTO "event" ("at", "flow_id", "task_id", "kind", "from_status", "to_status", "actor", "detail") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.now() if at is None else at, flow_id, task_id, kind, src, dst, actor[:64], detail),
        )

    # -- compiled statements ------------------------------------------------------------
    # The supervisor's writes (claim, record_process, finish) run these for every task. Their
    # SQL text is written once and kept, with `?` turned into the driver's placeholder; the
    # tables are the models' (unqualified, like Peewee's own: PostgreSQL finds them on the
    # search_path).

    def _run(self, sql: str, params: Any = ()) -> Any:
        """Execute `sql` (written with `?` placeholders) and return the cursor."""
        text = self._stmts.get(sql)
        if text is None:
            text = self._stmts[sql] = sql.replace("?", self.db.param)
        return self.db.execute_sql(text, params)

    def _fetch(self, model: type[_M], pk_value: Any) -> _M:
        """`model.get_by_id(pk_value)` without building its SELECT again: Peewee's own query,
        compiled once, and Peewee's own row conversion (the same instance get_by_id gives)."""
        entry = self._stmts.get(model)
        if entry is None:
            template = model.select().where(model._meta.primary_key == "")
            entry = self._stmts[model] = [template, template.sql()[0], None]
        template, sql, convert = entry
        cursor = self.db.execute_sql(sql, (pk_value,))
        if convert is None:
            # Peewee's row-to-model converter, set up once: the columns never change.
            convert = template._get_cursor_wrapper(cursor)
            convert.initialize()
            entry[2] = convert
        row = cursor.fetchone()
        if row is None:
            raise model.DoesNotExist(f"{model.__name__} {pk_value!r} does not exist")
        return convert.process_row(row)

    def _update_by_id(self, model: type[pw.Model], pk_value: Any, changes: dict[str, Any]) -> int:
        """UPDATE one row by primary key; `changes` maps field names to values. Rows changed."""
        meta = model._meta
        key = (meta.table_name, tuple(changes))
        sql = self._stmts.get(key)
        if sql is None:
            pk = meta.primary_key
            assert isinstance(pk, pw.Field)  # every ledger table has one
            sets = ", ".join(f'"{meta.fields[name].column_name}" = ?' for name in changes)
            sql = self._stmts[key] = (
                f'UPDATE "{meta.table_name}" SET {sets} WHERE "{pk.column_name}" = ?'
            ).replace("?", self.db.param)
        params = [meta.fields[name].db_value(value) for name, value in changes.items()]
        params.append(pk_value)
        return self.db.execute_sql(sql, params).rowcount

    def _flow_cancel_requested(self, flow_id: str) -> bool:
        row = self._run('SELECT "cancel_requested_at" FROM "flow" WHERE "flow_id" = ?', (flow_id,)).fetchone()
        if row is None:
            raise self.m.Flow.DoesNotExist(f"Flow {flow_id!r} does not exist")
        return row[0] is not None

    def _lock_flow(self, flow_id: str, *, skip_locked: bool = False) -> bool:
        """Serialize the writes to one flow; False when `skip_locked` and another writer holds it.

        On PostgreSQL every write transaction locks its flow row before it reads what it will
        change: concurrent writers then never act on a stale view of the flow (a retry racing
        a cascade cancel) and always lock in the same order, flow then tasks (no deadlocks).
        SQLite needs nothing: BEGIN IMMEDIATE already serializes every write.
        """
        if self.is_sqlite:
            return True
        Flow = self.m.Flow
        query = Flow.select(Flow.flow_id).where(Flow.flow_id == flow_id).for_update(skip_locked=skip_locked)
        return bool(list(query.tuples()))

    # -- the lease clock (leases.py) --------------------------------------------------------------------------

    def _lease_on_db(self) -> bool:
        return not self.is_sqlite and self.clock is system_clock

    def lease_now(self) -> int:
        """Now, on the clock heartbeats and leases are judged by (see the module docstring)."""
        if self._lease_on_db():
            return int(self._run("SELECT " + _DB_NOW_MS).fetchone()[0])
        return self.now()

    def _lease_stamp(self) -> Any:
        """What a heartbeat writes: `lease_now`, as SQL on PostgreSQL (no extra round trip)."""
        return pw.SQL(_DB_NOW_MS) if self._lease_on_db() else self.now()

    @staticmethod
    def lease_expired(sup: Any, now: int) -> bool:
        """`now` from lease_now: the supervisor's last heartbeat is older than its lease."""
        return now - sup.heartbeat_at > sup.lease_ms

    def supervisor_alive(self, sup: Any, now: int | None = None) -> bool:
        """Not stopped and within its lease; `now` (if given) must come from lease_now."""
        now = self.lease_now() if now is None else now
        return sup.stopped_at is None and not self.lease_expired(sup, now)

    # -- lookups --------------------------------------------------------------------

    def _resolve(self, model: type[_M], pk: pw.Field, ref: str, what: str) -> _M:
        ref = (ref or "").strip()
        if not _ID_PREFIX.match(ref):
            raise NotFound(f"no {what} {ref!r}")
        row = model.get_or_none(pk == ref)
        if row is not None:
            return row
        rows = list(model.select().where(pk.startswith(ref.lower())).limit(6))
        if not rows:
            raise NotFound(f"no {what} {ref!r}")
        if len(rows) > 1:
            ids = ", ".join(getattr(r, pk.name)[:8] for r in rows[:5])
            raise Ambiguous(f"{what} id {ref!r} is ambiguous: matches {ids}; give more characters")
        return rows[0]

    def get_flow(self, ref: str) -> FlowModel:
        return self._resolve(self.m.Flow, self.m.Flow.flow_id, ref, "flow")

    def get_task(self, ref: str) -> TaskModel:
        return self._resolve(self.m.Task, self.m.Task.task_id, ref, "task")

    def latest_attempts(self, flow_id: str) -> list[TaskModel]:
        Task = self.m.Task
        return list(
            Task.select()
            .where((Task.flow == flow_id) & (Task.is_latest == True))  # noqa: E712
            .order_by(Task.created_at, Task.label)
        )

    # -- derived flow status ----------------------------------------------------------

    def _recompute_flow(self, flow_id: str, actor: str = "system") -> str:
        """Store the flow status derived from its latest attempts; log it when it moves."""
        # The flow's head and its latest attempts' (task_id, status) in latest_attempts' order,
        # in one statement (every claim and finish runs it).
        rows = self._run(
            'SELECT f."status", f."cancel_requested_at", f."created_at", f."revision", t."task_id", t."status" '
            'FROM "flow" AS f LEFT JOIN "task" AS t ON t."flow_id" = f."flow_id" AND t."is_latest" = ? '
            'WHERE f."flow_id" = ? ORDER BY t."created_at", t."label"', (True, flow_id)).fetchall()
        if not rows:
            raise self.m.Flow.DoesNotExist(f"Flow {flow_id!r} does not exist")
        flow = _FlowHead(*rows[0][:4])
        latest = [_Latest(row[4], row[5]) for row in rows if row[4] is not None]
        status = derive_flow_status((t.status for t in latest), flow.cancel_requested_at is not None)
        now = self.now()
        changes: dict[str, Any] = {"updated_at": max(now, flow.created_at), "revision": flow.revision + 1}
        if status != flow.status:
            changes["status"] = status
            if status in TERMINAL_FLOW:
                changes["ended_at"] = max(now, flow.created_at)
                # The task whose outcome gave the flow its status (a failed flow names its failed
                # task, not a blocked one that happens to come first).
                culprit = next((t.task_id for t in latest if t.status in _CAUSES.get(status, ())), None) or next(
                    (t.task_id for t in latest if t.status not in ("succeeded", "cancelled")), None
                )
                changes["blocked_task_id"] = culprit if status != "succeeded" else None
            else:
                changes["ended_at"] = None
                changes["blocked_task_id"] = None
            self._event(flow_id, "flow_status", src=flow.status, dst=status, actor=actor)
        self._update_by_id(self.m.Flow, flow_id, changes)
        self._notify(CHANGE)
        return status

    @staticmethod
    def command_of(task: Any) -> list[str] | str:
        return json.loads(task.command_json)

    @staticmethod
    def after_of(task: Any) -> list[str]:
        return json.loads(task.after_json or "[]")

    @staticmethod
    def env_of(task: Any) -> dict[str, str | None]:
        """The spec's `env`; a None value names a variable passed from the supervisor's own."""
        return json.loads(task.env_json) if task.env_json else {}


class _Latest(NamedTuple):
    task_id: str
    status: str


class _FlowHead(NamedTuple):
    status: str
    cancel_requested_at: int | None
    created_at: int
    revision: int


# Flow status -> the task statuses that cause it (derive_flow_status).
_CAUSES: dict[str, tuple[str, ...]] = {"lost": ("lost",), "failed": ("failed", "timed_out"), "blocked": ("blocked",)}


def tuples(query: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a Peewee query as plain tuples (its stubs type `.tuples()` as model rows)."""
    return iter(cast("Iterable[tuple[Any, ...]]", query.tuples()))


def chunked(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
