"""Create a ledger, refuse one from the future, migrate one from the past.

Migrations use Peewee's `playhouse.migrate`, so that the same steps run on SQLite and on
PostgreSQL. Each step takes the ledger from version N-1 to N; a new ledger is created at
the current version directly.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee as pw
from playhouse import migrate as pm

from .errors import LedgerUnavailable, quoted
from .models import SCHEMA_VERSION, Models


def _migrator(db: pw.Database) -> pm.SchemaMigrator:
    return pm.SchemaMigrator.from_database(db)


def _v2_fencing_and_log_tail(db: pw.Database, models: Models) -> None:
    m = _migrator(db)
    task = models.Task._meta.table_name
    pm.migrate(
        m.add_column(task, "owner_token", pw.IntegerField(null=True)),
        m.add_column(task, "log_tail", pw.TextField(null=True)),
    )


# version reached -> step
MIGRATIONS: dict[int, Callable[[pw.Database, Models], None]] = {
    2: _v2_fencing_and_log_tail,
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


def check_tables(db: pw.Database, models: Models) -> None:
    """Every table of this schema is there (a dropped one would fail every write, forever)."""
    present = set(db.get_tables())
    for model in models.all():
        name = model._meta.table_name
        if name not in present:
            raise LedgerUnavailable(f"table {name!r} is missing: {DAMAGED}")


def ensure_schema(db: pw.Database, models: Models, *, readonly: bool = False) -> int:
    """Bring the ledger to SCHEMA_VERSION; returns the version found on open."""
    version = read_version(db, models)
    if version is None:
        if db.table_exists(models.Task._meta.table_name):
            raise LedgerUnavailable("this database has ledger tables but no schema version")
        if readonly:
            raise LedgerUnavailable("the ledger is empty and was opened read-only")
        with db.atomic():
            db.create_tables(models.all())
            models.Meta.insert(key="schema_version", value=str(SCHEMA_VERSION)).execute()
        return SCHEMA_VERSION
    if version < 1:
        raise LedgerUnavailable(f"schema version {version} is not one we ever wrote: {DAMAGED}")
    if version > SCHEMA_VERSION:
        raise LedgerUnavailable(
            f"the ledger was written by a newer openclaw-board (schema {version}, "
            f"this one knows {SCHEMA_VERSION}): upgrade openclaw-board"
        )
    if version < SCHEMA_VERSION:
        if readonly:
            raise LedgerUnavailable(
                f"the ledger has an old schema ({version}) and was opened read-only"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with db.atomic():
                MIGRATIONS[target](db, models)
                models.Meta.update(value=str(target)).where(
                    models.Meta.key == "schema_version"
                ).execute()
    check_tables(db, models)
    return version
