"""Create a ledger, refuse one from the future, migrate one from the past.

Migrations use Peewee's `playhouse.migrate`, so that the same steps run on SQLite and on
PostgreSQL. Each step takes the ledger from version N-1 to N; a new ledger is created at
the current version directly.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee as pw
from playhouse import migrate as pm

from . import planner
from .errors import LedgerUnavailable, quoted
from .models import FLOW_BY_FIRING, SCHEMA_VERSION, TASK_BY_FLOW, TASK_BY_STATUS, Models


def _migrator(db: pw.Database) -> pm.SchemaMigrator:
    return pm.SchemaMigrator.from_database(db)


def _v2_fencing_and_log_tail(db: pw.Database, models: Models) -> None:
    m = _migrator(db)
    task = models.Task._meta.table_name
    pm.migrate(
        m.add_column(task, "owner_token", pw.IntegerField(null=True)),
        m.add_column(task, "log_tail", pw.TextField(null=True)),
    )


# Indexes of schema 2 that schema 3 replaces: `(is_latest, status)` made SQLite read
# every latest task for one flow; the foreign key's own index on flow_id is the leading column
# of the new per-flow index; `(status, not_before)` is the new status index's prefix.
V2_TASK_INDEXES = ("task_flow_id", "task_is_latest_status", "task_status_not_before")


def _v3_indexes_for_the_planner(db: pw.Database, models: Models) -> None:
    """Indexes that serve the claim's order and a flow's latest attempts in order."""
    m = _migrator(db)
    task = models.Task._meta.table_name
    present = {index.name for index in db.get_indexes(task)}
    column = {name: models.Task._meta.fields[name].column_name for name in (*TASK_BY_FLOW, *TASK_BY_STATUS)}
    wanted = [[column[name] for name in fields] for fields in (TASK_BY_FLOW, TASK_BY_STATUS)]
    pm.migrate(
        *(m.drop_index(task, name) for name in V2_TASK_INDEXES if name in present),
        *(m.add_index(task, columns, False) for columns in wanted
          if pm.make_index_name(task, columns) not in present),
    )


def _v4_schedules(db: pw.Database, models: Models) -> None:
    """Cron schedules, their event log, the firing a flow came from (one flow per firing),
    approval timeouts, and the delivery queue of results."""
    m = _migrator(db)
    flow = models.Flow._meta.table_name
    db.create_tables([models.Schedule, models.ScheduleEvent, models.Delivery])  # IF NOT EXISTS
    task = models.Task._meta.table_name
    if "approval_timeout_s" not in {c.name for c in db.get_columns(task)}:
        pm.migrate(m.add_column(task, "approval_timeout_s", pw.FloatField(null=True)))
    columns = {c.name for c in db.get_columns(flow)}
    index = pm.make_index_name(flow, list(FLOW_BY_FIRING[0]))
    pm.migrate(
        *(m.add_column(flow, name, field) for name, field in (
            ("schedule_id", pw.CharField(max_length=36, null=True)),
            ("fire_at", pw.BigIntegerField(null=True)),
            ("notify_targets", pw.TextField(null=True))) if name not in columns),
        *([m.add_index(flow, list(FLOW_BY_FIRING[0]), FLOW_BY_FIRING[1])]
          if index not in {i.name for i in db.get_indexes(flow)} else []),
    )


# version reached -> step
MIGRATIONS: dict[int, Callable[[pw.Database, Models], None]] = {
    2: _v2_fencing_and_log_tail,
    3: _v3_indexes_for_the_planner,
    4: _v4_schedules,
}


DAMAGED = "the ledger is damaged; restore it from a backup"


def read_version(db: pw.Database, models: Models) -> int | None:
    table = models.Meta._meta.table_name
    if not db.table_exists(table):
        return None
    row = models.Meta.get_or_none(models.Meta.key == "schema_version")
    if row is None:
        return None
    value = str(row.value).strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise LedgerUnavailable(f"schema version {quoted(row.value)} is not a number: {DAMAGED}")
    return int(value)


def settled_version(db: pw.Database, models: Models) -> int | None:
    """The schema version, looked at again when the ledger was created between our two reads.

    `read_version` asks whether the meta table exists, then reads it, in two statements: a
    process creating the ledger in between (tables and version in one transaction) leaves us
    with "no version" and a task table that is there by the time `_refuse` looks. Once the
    task table is visible, so is the version committed with it."""
    version = read_version(db, models)
    if version is None and db.table_exists(models.Task._meta.table_name):
        version = read_version(db, models)
    return version


def check_tables(db: pw.Database, models: Models) -> None:
    """Every table of this schema is there (a dropped one would fail every write, forever)."""
    present = set(db.get_tables())
    for model in models.all():
        name = model._meta.table_name
        if name not in present:
            raise LedgerUnavailable(f"table {name!r} is missing: {DAMAGED}")


def ensure_schema(db: pw.Database, models: Models, *, readonly: bool = False) -> int:
    """Bring the ledger to SCHEMA_VERSION; returns the version found on open.

    Several processes may open a new or old ledger at the same moment (a board and its
    supervisors started together, one deploy starting supervisors on several hosts): the
    creation or migration runs under a lock (SQLite's write lock, a PostgreSQL advisory
    lock), and whoever gets the lock next reads the version again and finds the work done.
    """
    version = settled_version(db, models)
    _refuse(db, models, version, readonly)
    if version != SCHEMA_VERSION:
        with db.atomic():  # SQLite: BEGIN IMMEDIATE, the write lock
            if not _is_sqlite(db):
                db.execute_sql("SELECT pg_advisory_xact_lock(hashtext('openclaw-board schema ' || current_schema()))")
            current = read_version(db, models)
            _refuse(db, models, current, readonly)
            if current is None:
                db.create_tables(models.all())
                models.Meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).execute()
            else:
                for target in range(current + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[target](db, models)
                    models.Meta.update(value=str(target)).where(models.Meta.key == "schema_version").execute()
            if current != SCHEMA_VERSION:
                planner.after_schema_change(db, _is_sqlite(db))
        if version is None:
            return SCHEMA_VERSION
    check_tables(db, models)
    return version


def _refuse(db: pw.Database, models: Models, version: int | None, readonly: bool) -> None:
    """A ledger we must not create, migrate or use, with the reason."""
    if version is None and db.table_exists(models.Task._meta.table_name):
        # Tables and version are committed together: another process may have created the
        # ledger since `version` was read, and then its version reads back now. Only a task
        # table whose version still cannot be read is damage.
        version = read_version(db, models)
        if version is None:
            raise LedgerUnavailable("this database has ledger tables but no schema version")
    if version is None:
        if readonly:
            raise LedgerUnavailable("the ledger is empty and was opened read-only")
    elif version < 1:
        raise LedgerUnavailable(f"schema version {version} is not one we ever wrote: {DAMAGED}")
    elif version > SCHEMA_VERSION:
        raise LedgerUnavailable(
            f"the ledger was written by a newer openclaw-board (schema {version}, "
            f"this one knows {SCHEMA_VERSION}): upgrade openclaw-board"
        )
    elif version < SCHEMA_VERSION and readonly:
        raise LedgerUnavailable(f"the ledger has an old schema ({version}) and was opened read-only")


def _is_sqlite(db: pw.Database) -> bool:
    return isinstance(db, pw.SqliteDatabase)
