"""Ledger URLs, file safety, SQLite settings, and schema versions (refuse newer, migrate older)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import peewee as pw
import pytest
from playhouse import migrate as pm

from openclaw_board.ledger import Ledger, LedgerUnavailable, command_spec
from openclaw_board.ledger.db import parse_url, redact
from openclaw_board.ledger.models import SCHEMA_VERSION


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- URLs -------------------------------------------------------------------------------


def test_parse_sqlite_urls(tmp_path: Path) -> None:
    u = parse_url(f"sqlite:///{tmp_path}/l.db")
    assert u.kind == "sqlite" and u.is_sqlite and u.path == tmp_path / "l.db"
    assert parse_url("sqlite:///srv/l.db").path == Path("/srv/l.db")
    assert parse_url(str(tmp_path / "x.db")).path == tmp_path / "x.db"
    bare = parse_url("relative/ledger.db")
    assert bare.kind == "sqlite" and bare.path == Path("relative/ledger.db")
    assert parse_url("~/l.db").path == Path.home() / "l.db"


@pytest.mark.parametrize("url", ["postgresql://u:pw@db.example:5432/ledger", "postgres://h/db"])
def test_parse_postgres_urls(url: str) -> None:
    u = parse_url(url)
    assert u.kind == "postgresql" and not u.is_sqlite and u.dsn == url and u.path is None


@pytest.mark.parametrize("url", ["mysql://h/db", "http://x", "sqlite://relative.db", "sqlite:///"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(LedgerUnavailable) as info:
        parse_url(url)
    assert "\n" not in str(info.value)


def test_unknown_scheme_message() -> None:
    with pytest.raises(LedgerUnavailable, match="unknown ledger URL scheme 'mysql'"):
        parse_url("mysql://u:secret@h/db")


def test_redact_hides_passwords() -> None:
    assert redact("postgresql://alice:s3cret@db.example:5432/ledger") == "postgresql://alice:***@db.example:5432/ledger"
    assert "s3cret" not in redact("postgresql://alice:s3cret@db.example/ledger?sslmode=require")
    assert "s3cret" not in redact("postgresql://db.example/ledger?user=alice&password=s3cret")
    assert redact("postgresql://alice@db.example/ledger") == "postgresql://alice@db.example/ledger"
    assert redact("sqlite:///tmp/l.db") == "sqlite:///tmp/l.db"


def test_unreachable_postgres_is_one_clear_line_without_password() -> None:
    with pytest.raises(LedgerUnavailable) as info:
        Ledger("postgresql://alice:s3cret@127.0.0.1:1/nothing?connect_timeout=2")
    message = str(info.value)
    assert "s3cret" not in message and "\n" not in message
    assert message.startswith("cannot reach ledger postgresql://alice:***@127.0.0.1:1/")


# -- files ------------------------------------------------------------------------------


def test_state_dir_and_files_are_private(home: Path, sqlite_url: str) -> None:
    assert not home.exists()
    old = os.umask(0o022)
    try:
        with Ledger(sqlite_url) as ledger:
            ledger.submit(command_spec("g", ["true"]))
            db = home / "ledger.db"
            assert mode(home) == 0o700
            assert mode(db) == 0o600
            sidecars = [Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(p.exists() for p in sidecars)
            for side in sidecars:
                assert mode(side) == 0o600, side
    finally:
        os.umask(old)


def test_loose_state_dir_is_tightened(home: Path, sqlite_url: str) -> None:
    home.parent.mkdir(exist_ok=True)
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    from openclaw_board.ledger.db import ensure_private_dir

    ensure_private_dir(home)
    assert mode(home) == 0o700


@pytest.mark.parametrize("bad_mode", [0o620, 0o602, 0o666])
def test_ledger_writable_by_others_is_refused(sqlite_url: str, home: Path, bad_mode: int) -> None:
    Ledger(sqlite_url).close()
    db = home / "ledger.db"
    os.chmod(db, bad_mode)
    with pytest.raises(LedgerUnavailable) as info:
        Ledger(sqlite_url)
    message = str(info.value)
    assert "writable by others" in message and str(db) in message and "chmod 600" in message
    assert mode(db) == bad_mode  # refused, not silently "fixed"


def test_readable_by_group_is_allowed(sqlite_url: str, home: Path) -> None:
    Ledger(sqlite_url).close()
    os.chmod(home / "ledger.db", 0o640)
    Ledger(sqlite_url).close()


def test_non_sqlite_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("these are my notes, not a database\n" * 10)
    os.chmod(bogus, 0o600)
    with pytest.raises(LedgerUnavailable, match="is not a SQLite database"):
        Ledger(f"sqlite:///{bogus}")
    assert bogus.read_text().startswith("these are my notes")


def test_corrupt_sqlite_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "corrupt.db"
    bogus.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    os.chmod(bogus, 0o600)
    with pytest.raises(LedgerUnavailable) as info:
        Ledger(str(bogus))
    assert str(bogus) in str(info.value) and "\n" not in str(info.value)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnavailable, match="is a directory"):
        Ledger(str(tmp_path))


@pytest.mark.parametrize("kwargs", [{"create": False}, {"readonly": True}])
def test_missing_ledger_is_not_created(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(LedgerUnavailable, match="no ledger at"):
        Ledger(str(tmp_path / "none.db"), **kwargs)
    assert not (tmp_path / "none.db").exists()


# -- SQLite settings --------------------------------------------------------------------


def test_sqlite_pragmas(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as ledger:
        pragma = lambda name: ledger.db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000


def test_transactions_take_the_write_lock_up_front(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        other = sqlite3.connect(home / "ledger.db", timeout=0, isolation_level=None)
        try:
            with ledger.atomic():
                # No write yet, but the lock is taken: a second writer cannot begin.
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()


# -- schema versions --------------------------------------------------------------------


def _set_version(ledger: Ledger, version: int) -> None:
    Meta = ledger.m.Meta
    Meta.update(value=str(version)).where(Meta.key == "schema_version").execute()


def test_new_ledger_has_the_current_version(ledger: Ledger) -> None:
    Meta = ledger.m.Meta
    assert Meta.get(Meta.key == "schema_version").value == str(SCHEMA_VERSION)


def test_newer_schema_is_refused(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        _set_version(ledger, SCHEMA_VERSION + 1)
    with pytest.raises(LedgerUnavailable, match=rf"newer openclaw-board \(schema {SCHEMA_VERSION + 1}"):
        Ledger(ledger_url)
    with pytest.raises(LedgerUnavailable):
        Ledger(ledger_url, readonly=True)


def _downgrade_to_v1(ledger: Ledger) -> None:
    migrator = pm.SchemaMigrator.from_database(ledger.db)
    with ledger.db.atomic():
        pm.migrate(migrator.drop_column("task", "owner_token"), migrator.drop_column("task", "log_tail"))
        _set_version(ledger, 1)


def _task_columns(ledger: Ledger) -> set[str]:
    return {c.name for c in ledger.db.get_columns("task")}


def test_older_schema_is_migrated_and_works(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        flow_id, ids = ledger.submit(command_spec("old work", ["true"], label="old"))
        _downgrade_to_v1(ledger)
        assert not {"owner_token", "log_tail"} & _task_columns(ledger)

    with Ledger(ledger_url) as ledger:
        Meta = ledger.m.Meta
        assert Meta.get(Meta.key == "schema_version").value == str(SCHEMA_VERSION)
        assert {"owner_token", "log_tail"} <= _task_columns(ledger)
        # The old row survived and the new columns work.
        task = ledger.claim_next("sup-1", "host-a", generation=7).task
        assert task is not None and task.task_id == ids["old"] and task.owner_token == 7
        ledger.report_progress(task.task_id, "sup-1", progress=50, summary="half", log_tail="line\n")
        assert ledger.get_task(task.task_id).log_tail == "line\n"
        ledger.finish(task.task_id, "succeeded", supervisor_id="sup-1", exit_code=0)
        assert ledger.get_flow(flow_id).status == "succeeded"
        ledger.submit(command_spec("new work", ["true"]))
        assert len(ledger.list_flows()) == 2


def test_older_schema_is_not_migrated_readonly(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as ledger:
        _downgrade_to_v1(ledger)
    with pytest.raises(LedgerUnavailable, match="old schema"):
        Ledger(sqlite_url, readonly=True)


def test_tables_without_version_are_refused(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as ledger:
        ledger.m.Meta.delete().execute()
    with pytest.raises(LedgerUnavailable, match="no schema version"):
        Ledger(sqlite_url)


def test_a_ledger_created_by_another_process_since_its_version_was_read_is_not_refused(ledger_url: str) -> None:
    """The window CI hit on PostgreSQL: a process reads "no version" and "no task table", then
    another process commits the new ledger, then the first looks at the task table again. The
    version committed with the tables is read back, not taken for damage."""
    from openclaw_board.ledger.schema import _refuse

    with Ledger(ledger_url) as created:
        _refuse(created.db, created.m, None, False)  # raised "tables but no schema version"


def test_empty_file_is_refused_as_truncated(tmp_path: Path) -> None:
    """We never leave an empty ledger (a new one is initialised before it is linked into
    place), so an empty file is one that was truncated: refused, not silently made anew."""
    path = tmp_path / "empty.db"
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    with pytest.raises(LedgerUnavailable, match=r"is empty \(0 bytes\): it was truncated; restore it"):
        Ledger(str(path))
    assert path.stat().st_size == 0
    fresh = tmp_path / "fresh.db"
    with Ledger(str(fresh)) as ledger:
        assert isinstance(ledger.db, pw.SqliteDatabase)
        assert ledger.list_flows() == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("fresh.db")) == ["empty.db"]
