"""The one place that turns a ledger URL into a Peewee database, safely.

Accepted: `sqlite:///path`, a bare path, `postgresql://...` (or `postgres://`).
SQLite runs in WAL mode with a busy timeout and `BEGIN IMMEDIATE` transactions, so that
writers from several processes wait for each other instead of failing with
"database is locked". Files the ledger can make a supervisor run commands from are
private: the state directory is 0700, the ledger 0600, and a ledger others can write is
refused.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee as pw

from .errors import LedgerUnavailable

BUSY_TIMEOUT_S = 30.0


def state_dir() -> Path:
    """`OPENCLAW_BOARD_HOME`, else the platform's user state directory."""
    home = os.environ.get("OPENCLAW_BOARD_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("openclaw-board", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` 0700 (and tighten it if we own it and it is looser)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def default_url() -> str:
    return os.environ.get("OPENCLAW_BOARD_DB") or f"sqlite:///{state_dir() / 'ledger.db'}"


@dataclass(frozen=True)
class LedgerURL:
    kind: str  # "sqlite" | "postgresql"
    path: Path | None  # sqlite
    dsn: str | None  # postgresql

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"


def parse_url(url: str) -> LedgerURL:
    if is_postgres(url):
        return LedgerURL("postgresql", None, url)
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise LedgerUnavailable(f"bad ledger URL {redact(url)!r}: use sqlite:///path/to/ledger.db")
        return LedgerURL("sqlite", Path(rest[1:] if rest.startswith("//") else rest), None)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise LedgerUnavailable(
            f"unknown ledger URL scheme {scheme!r}: use sqlite:///path, a path, or postgresql://..."
        )
    return LedgerURL("sqlite", Path(url).expanduser(), None)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL with any password removed: credentials are never printed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    # libpq also takes the password as a query parameter: `?password=...`.
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    if parts.password is None:
        return url if query == parts.query else urlunsplit(parts._replace(query=query))
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}:***@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_sqlite_file(path: Path, *, create: bool) -> None:
    """Refuse unsafe or unusable ledger files with one clear line.

    Only `stat`, never `open()`: this runs on every connect, and a process that already
    holds a SQLite connection to the file must not open and close it. POSIX advisory locks
    belong to the process, so closing *any* descriptor of the file drops the locks of every
    connection it has; another process then believes it is the last user, checkpoints and
    deletes the WAL, and our connections write on into a deleted file (sqlite.org, "How To
    Corrupt An SQLite Database File", 2.2). Whether the bytes are a database is SQLite's to
    say, in `connect()`, through the connection itself.
    """
    if path.exists():
        if path.is_dir():
            raise LedgerUnavailable(f"ledger {path} is a directory, not a file")
        st = path.stat()
        if stat.S_IMODE(st.st_mode) & 0o022:
            raise LedgerUnavailable(
                f"ledger {path} is writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"it can make the supervisor run commands: chmod 600 {path}"
            )
        return
    if not create:
        raise LedgerUnavailable(f"no ledger at {path}")
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    # Create it empty and private before SQLite opens it, so it is never world-readable.
    # A new inode: no connection of ours can hold locks on it yet, so this open is safe.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def not_a_database(exc: BaseException) -> bool:
    """SQLite's own word that the file's bytes are not a database (SQLITE_NOTADB)."""
    return "file is not a database" in str(exc)


def connect(url: str, *, create: bool = True, readonly: bool = False) -> tuple[pw.Database, LedgerURL]:
    parsed = parse_url(url)
    if parsed.kind == "postgresql":
        return _connect_postgres(parsed.dsn or url), parsed
    assert parsed.path is not None
    check_sqlite_file(parsed.path, create=create and not readonly)
    db = pw.SqliteDatabase(
        str(parsed.path),
        pragmas={
            "journal_mode": "wal",
            "synchronous": "normal",
            "foreign_keys": 1,
            "busy_timeout": int(BUSY_TIMEOUT_S * 1000),
        },
        timeout=BUSY_TIMEOUT_S,
        lock_type="IMMEDIATE",
        check_same_thread=False,
    )
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except pw.DatabaseError as exc:
        db.close()
        if not_a_database(exc):
            raise LedgerUnavailable(f"ledger {parsed.path} is not a SQLite database") from exc
        raise LedgerUnavailable(f"ledger {parsed.path} cannot be read: {exc}") from exc
    _tighten_sidecars(parsed.path)
    return db, parsed


def _tighten_sidecars(path: Path) -> None:
    """WAL and SHM files are created with the umask; keep them private too."""
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        try:
            if side.exists() and side.stat().st_uid == os.getuid():
                os.chmod(side, 0o600)
        except OSError:
            pass


# What psycopg2 says when the server went away (restart, idle timeout, network cut).
PG_RECONNECT_ERRORS = (
    (pw.OperationalError, "server closed the connection"),
    (pw.OperationalError, "terminating connection"),
    (pw.OperationalError, "connection already closed"),
    (pw.OperationalError, "could not receive data"),
    (pw.OperationalError, "could not send data"),
    (pw.OperationalError, "no connection to the server"),
    (pw.OperationalError, "ssl connection has been closed"),
    (pw.InterfaceError, "connection already closed"),
    (pw.InterfaceError, "cursor already closed"),
)


def _connect_postgres(url: str) -> pw.Database:
    try:
        import psycopg2  # noqa: F401
    except ImportError as exc:
        raise LedgerUnavailable(
            "a PostgreSQL ledger needs psycopg2: pip install 'openclaw-board[postgres]'"
        ) from exc
    from playhouse.db_url import connect as url_connect
    from playhouse.shortcuts import ReconnectMixin

    class ReconnectingPostgres(ReconnectMixin, pw.PostgresqlDatabase):
        """Survives a server restart: a dropped connection is reopened and retried once.

        Only outside a transaction (ReconnectMixin never retries inside one: the writes
        would be lost); a transaction cut by a restart fails, and the caller retries it."""

        reconnect_errors = PG_RECONNECT_ERRORS

    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    base = url_connect(urlunsplit(parts))
    db = ReconnectingPostgres(base.database, **base.connect_params)
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LedgerUnavailable(f"cannot reach ledger {redact(url)}: {first}") from exc
    return db
