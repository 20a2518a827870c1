"""Shared fixtures: real ledgers on real SQLite files, and on the real PostgreSQL where one answers.

`ledger_url` is parametrized over both back ends; PostgreSQL tests get a schema of their
own (through the URL's `options=-csearch_path=...`) so that parallel tests never see each
other's rows, and they are skipped with a reason when no server answers.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from openclaw_fixtures import Standard

PG_BASE = os.environ.get("OPENCLAW_BOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_answers() -> str | None:
    """None when PostgreSQL answers, else the reason to skip."""
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError as exc:
        return f"no PostgreSQL at 127.0.0.1:5432 ({exc.strerror or exc})"
    try:
        psycopg2.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: skip, and say why
        return f"PostgreSQL at 127.0.0.1:5432 refused us: {str(exc).strip().splitlines()[0]}"
    return None


PG_SKIP_REASON = _pg_answers()

# One test restarts the PostgreSQL server; with -n 2 the other worker's PostgreSQL tests
# would see "the database system is shutting down". Every test holds this lock shared; the
# restart test holds it exclusively, so it waits for the test in flight and runs alone.
_SERVER_LOCK = Path(tempfile.gettempdir()) / "openclaw-board-tests-postgres.lock"


@pytest.fixture(autouse=True)
def _postgres_restart_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    exclusive = request.node.get_closest_marker("restarts_postgres") is not None
    with open(_SERVER_LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state directory for this test, used by every process it starts."""
    state = tmp_path / "state"
    monkeypatch.setenv("OPENCLAW_BOARD_HOME", str(state))
    monkeypatch.delenv("OPENCLAW_BOARD_DB", raising=False)
    monkeypatch.delenv("OPENCLAW_BOARD_THEME", raising=False)
    return state


@pytest.fixture
def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'ledger.db'}"


@contextmanager
def pg_schema(prefix: str = "t") -> Iterator[str]:
    """A ledger URL on a schema of its own on the test server, dropped afterwards over a fresh
    connection (a test may have restarted the server, which ends older ones)."""
    import psycopg2

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    conn.close()
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        conn = psycopg2.connect(PG_BASE)
        conn.autocommit = True
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    if PG_SKIP_REASON:
        pytest.skip(PG_SKIP_REASON)
    with pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, home: Path) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


def _opened(url: str, clock=None):
    from openclaw_board.ledger import Ledger

    with Ledger(url, clock=clock) as opened:
        yield opened


@pytest.fixture
def ledger(ledger_url: str):
    """An open ledger on `ledger_url` (SQLite, and PostgreSQL where it answers), on the wall clock."""
    yield from _opened(ledger_url)


@pytest.fixture
def clock():
    """A clock that moves only when the test says so (ledger_testkit.ManualClock)."""
    from ledger_testkit import ManualClock

    return ManualClock()


@pytest.fixture
def led(ledger_url: str, clock):
    """The same ledger as `ledger`, on `clock`: time moves only when the test says so."""
    yield from _opened(ledger_url, clock)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (the board's, through Pilot) run on asyncio, the loop Textual runs on."""
    return "asyncio"


@pytest.fixture
def demo(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """The demo ledger at a fixed moment with seeded ids (pictures show ids): (url, that moment)."""
    from board_support import prepared_ledger, seeded_ids

    seeded_ids(monkeypatch)
    return sqlite_url, prepared_ledger(sqlite_url, tmp_path / "work")


@pytest.fixture
def std(tmp_path: Path) -> Iterator[Standard]:
    """The standard OpenClaw ledger (openclaw_fixtures.standard_ledger), closed afterwards."""
    from openclaw_fixtures import standard_ledger

    s = standard_ledger(tmp_path / "openclaw.sqlite")
    yield s
    s.file.close()
