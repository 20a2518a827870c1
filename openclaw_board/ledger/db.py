"""The one place that turns a ledger URL into a Peewee database, safely.

Accepted: `sqlite:///path`, a bare path, `postgresql://...` (or `postgres://`).
SQLite runs in WAL mode with a busy timeout and `BEGIN IMMEDIATE` transactions, so that
writers from several processes wait for each other instead of failing with
"database is locked". Files the ledger can make a supervisor run commands from are
private: the state directory is 0700, the ledger 0600, and a ledger or directory someone
else owns or can write is refused (filesafety.py).

A damaged ledger is refused with a line that says what to do, and nothing is written: a
ledger truncated to 0 bytes (we never leave an empty one: a new ledger is initialised under
a temporary name and linked into place), a missing table, a schema version that is not a
number (schema.py). `quick_check` reads every page; the supervisor runs it when it starts
and `audit` reports it (a page of random bytes is otherwise only noticed when it is read).
A ledger we cannot write (a read-only filesystem, a file we may only read) is opened
read-only (`mode=ro`), so that it can still be listed and shown.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import peewee as pw

from .errors import LedgerUnavailable, first_line
from .filesafety import check_ledger_file, private_dir, refuse_untrusted

BUSY_TIMEOUT_S = 30.0

# PostgreSQL ends a session that sits inside an open transaction this long without sending a
# statement, which releases its row locks. Our transactions are a few statements sent back to
# back; a session idle inside one belongs to a client that stopped (SIGSTOP, a frozen VM, a cut
# network). Without this, a supervisor stopped between its heartbeat's UPDATE and COMMIT holds
# its supervisor row, and the judge that must declare it dead waits on that lock for as long
# as it stays stopped. Shorter than the default lease (15 s), so that no judge waits past it.
# A URL that sets its own value (options=-c idle_in_transaction_session_timeout=...) keeps it.
PG_STALLED_TX_TIMEOUT_MS = 5_000


HOME_VAR = "OPENCLAW_BOARD_HOME"


def state_dir() -> Path:
    """`OPENCLAW_BOARD_HOME`, else the platform's user state directory; always absolute.

    A relative `OPENCLAW_BOARD_HOME=cur` is taken from the current directory: the CLI
    resolves it once at startup (`resolve_home`), so that a later chdir cannot move it, and
    `sqlite:///` + a relative path can never turn into a ledger at the filesystem's root."""
    home = os.environ.get(HOME_VAR)
    if home:
        return Path(os.path.abspath(Path(home).expanduser()))
    import platformdirs

    return Path(os.path.abspath(platformdirs.user_state_dir("openclaw-board", appauthor=False)))


def resolve_home() -> None:
    """Make a relative `OPENCLAW_BOARD_HOME` absolute in our environment, once, at startup."""
    home = os.environ.get(HOME_VAR)
    if home and not os.path.isabs(os.path.expanduser(home)):
        os.environ[HOME_VAR] = str(state_dir())


def ensure_private_dir(path: Path, what: str = "state directory") -> Path:
    """Create `path` 0700, tighten it if it is ours and looser, refuse it if someone else
    owns it or can write it (filesafety.py). Raises UnsafePath (a LedgerUnavailable)."""
    return private_dir(path, what)


def default_url() -> str:
    """`$OPENCLAW_BOARD_DB`, else the state directory's ledger.db."""
    return os.environ.get("OPENCLAW_BOARD_DB") or f"sqlite:///{state_dir() / 'ledger.db'}"


@dataclass(frozen=True)
class LedgerURL:
    kind: str  # "sqlite" | "postgresql"
    path: Path | None  # sqlite
    dsn: str | None  # postgresql
    read_only_file: bool = False  # a SQLite ledger we may not write: opened `mode=ro`

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
    """Refuse unsafe or unusable ledger files with one clear line; create a new one.

    Only `stat`, never `open()`: this runs on every connect, and a process that already
    holds a SQLite connection to the file must not open and close it. POSIX advisory locks
    belong to the process, so closing *any* descriptor of the file drops the locks of every
    connection it has; another process then believes it is the last user, checkpoints and
    deletes the WAL, and our connections write on into a deleted file (sqlite.org, "How To
    Corrupt An SQLite Database File", 2.2). Whether the bytes are a database is SQLite's to
    say, in `connect()`, through the connection itself.
    """
    st = _stat(path)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise LedgerUnavailable(f"ledger {path} is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise LedgerUnavailable(f"ledger {path} is not a regular file")
        _check_ledger_dir(path.parent)
        note = check_ledger_file(path, st)
        if note:
            sys.stderr.write(f"note: {note}\n")
        if st.st_size == 0:
            raise LedgerUnavailable(
                f"ledger {path} is empty (0 bytes): it was truncated; restore it from a backup, "
                "or remove it to start a new one"
            )
        return
    if not create:
        raise LedgerUnavailable(f"no ledger at {path}")
    if not path.parent.exists():
        ensure_private_dir(path.parent, "state directory" if path.parent == state_dir() else "ledger directory")
    _check_ledger_dir(path.parent)
    _create_sqlite_file(path)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise LedgerUnavailable(f"ledger {path} cannot be used: {exc.strerror or exc}") from None


def check_trusted(url: str) -> None:
    """For a SQLite ledger that exists: refuse it, by stat alone, if someone else owns or can
    write it or its directory. Run before anything (even the OpenClaw probe) reads it."""
    if is_postgres(url):
        return
    path = parse_url(url).path
    st = _stat(path) if path is not None else None
    if path is None or st is None or not stat.S_ISREG(st.st_mode):
        return  # missing, or not a file: connect() says so
    private_dir(path.parent, "ledger directory", create=False, fix=False)
    refuse_untrusted(path, st)


def _check_ledger_dir(directory: Path) -> None:
    """The directory SQLite creates -wal and -shm in: ours (or root's), not writable by others.
    Only the state directory is tightened; any other is the operator's to fix."""
    private_dir(directory, "ledger directory", create=False, fix=directory == state_dir())


def _create_sqlite_file(path: Path) -> None:
    """A new, private, already valid (non-empty) SQLite file at `path`, atomically.

    Initialised under a temporary name and hard-linked into place, so that an empty ledger
    file only ever means one that was truncated, and two processes creating the ledger at
    once both end up with the same, valid file. No connection of ours can be open on either
    inode yet, so SQLite opening them here is safe."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=wal").fetchone()  # writes the header and page 1
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: theirs is as good as ours
        except OSError:
            if not path.exists():  # a filesystem without hard links
                os.rename(tmp, path)
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise LedgerUnavailable(
            f"cannot create ledger {path}: {reason}; set OPENCLAW_BOARD_HOME (or --db) to a place you can write"
        ) from None
    finally:
        for junk in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            try:
                os.unlink(junk)
            except OSError:
                pass


def not_a_database(exc: BaseException) -> bool:
    """SQLite's own word that the file's bytes are not a database (SQLITE_NOTADB)."""
    return "file is not a database" in str(exc)


def _read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _writable(path: Path) -> bool:
    """Whether we may write `path` (a file, or a directory to create -wal/-shm in)."""
    if _read_only_filesystem(path):
        return False
    return os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0))


def _ro_uri(path: Path, *, immutable: bool = False) -> str:
    return f"file:{quote(str(path.absolute()))}?mode=ro" + ("&immutable=1" if immutable else "")


def connect(url: str, *, create: bool = True, readonly: bool = False) -> tuple[pw.Database, LedgerURL]:
    parsed = parse_url(url)
    if parsed.kind == "postgresql":
        return _connect_postgres(parsed.dsn or url), parsed
    assert parsed.path is not None
    path = parsed.path
    check_sqlite_file(path, create=create and not readonly)
    ro_file = not (_writable(path) and _writable(path.parent))
    if readonly or ro_file:
        db = _open_readonly(path)
        return db, replace(parsed, read_only_file=ro_file)
    db = pw.SqliteDatabase(
        str(path),
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
    _first_read(db, path)
    _tighten_sidecars(path)
    return db, parsed


def _first_read(db: pw.SqliteDatabase, path: Path) -> None:
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except pw.DatabaseError as exc:
        db.close()
        if not_a_database(exc):
            raise LedgerUnavailable(f"ledger {path} is not a SQLite database") from exc
        raise LedgerUnavailable(f"ledger {path} cannot be read: {damage_hint(exc)}") from exc


def _open_readonly(path: Path) -> pw.SqliteDatabase:
    """The ledger opened `mode=ro`: SQLite refuses every write, and never checkpoints.

    A WAL ledger needs its -shm to be read, and SQLite cannot create one where it may not
    write. On a read-only filesystem with no -wal (no writer has it open, nothing
    uncommitted to miss) it is opened `immutable=1`; with a -wal left behind it cannot be
    read without losing those commits, and we say so. A directory we may not write on a
    writable filesystem is refused: someone may write the ledger while we read it, and
    `immutable` would then read torn pages."""
    kw: dict = dict(uri=True, pragmas={"query_only": 1, "busy_timeout": int(BUSY_TIMEOUT_S * 1000)},
                    timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    db = pw.SqliteDatabase(_ro_uri(path), **kw)
    try:
        _first_read(db, path)
        return db
    except LedgerUnavailable as exc:
        if "unable to open database file" not in str(exc) or _writable(path.parent):
            raise
    if not _read_only_filesystem(path):
        raise LedgerUnavailable(
            f"ledger {path} cannot be read: SQLite must create {path}-shm in a directory you cannot "
            "write; read it as the user who can, or copy it somewhere writable"
        )
    if os.path.lexists(f"{path}-wal"):
        raise LedgerUnavailable(
            f"ledger {path} is on a read-only filesystem with unfinished writes in {path}-wal that "
            "need a writable -shm: copy the ledger and its -wal to a writable place to read it"
        )
    db = pw.SqliteDatabase(_ro_uri(path, immutable=True), **kw)
    _first_read(db, path)
    return db


# What SQLite (and PostgreSQL) say when a ledger's pages or tables are damaged, or it cannot
# be written at all: retrying will not help.
DAMAGE_SIGNS = re.compile(
    r"database disk image is malformed|file is not a database|no such table|no such column"
    r"|malformed database schema|attempt to write a readonly database"
    r'|(relation|column) "[^"]*"( of relation "[^"]*")? does not exist'
)


def damaged(exc: BaseException) -> bool:
    """True when `exc` says the ledger itself is damaged or unwritable, not busy or away."""
    return DAMAGE_SIGNS.search(str(exc)) is not None


def damage_hint(exc: BaseException) -> str:
    """SQLite's first line, plus what to do when it says the ledger is damaged or read-only."""
    first = first_line(exc)
    if "readonly database" in first:
        return f"{first}: the ledger or its directory cannot be written (a read-only filesystem?)"
    if damaged(exc):
        return f"{first}: the ledger is damaged; restore it from a backup"
    return first


def quick_check(db: pw.Database) -> str | None:
    """SQLite's `PRAGMA quick_check` (every page read, no index cross-check): None when the
    ledger is sound, else its first complaint. Nothing on PostgreSQL (it checks its own pages)."""
    if not isinstance(db, pw.SqliteDatabase):
        return None
    try:
        rows = db.execute_sql("PRAGMA quick_check(1)").fetchall()
    except pw.DatabaseError as exc:
        return damage_hint(exc)
    first = str(rows[0][0]) if rows else "no answer"
    return None if first == "ok" else first


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
PG_RECONNECT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
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


def with_stalled_tx_timeout(params: dict[str, Any]) -> dict[str, Any]:
    """libpq connection parameters with PG_STALLED_TX_TIMEOUT_MS added to the server options,
    unless they set idle_in_transaction_session_timeout themselves."""
    options = str(params.get("options") or "")
    if "idle_in_transaction_session_timeout" in options:
        return params
    extra = f"-c idle_in_transaction_session_timeout={PG_STALLED_TX_TIMEOUT_MS}"
    return {**params, "options": f"{options} {extra}".strip()}


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

        reconnect_errors = PG_RECONNECT_ERRORS  # type: ignore[assignment]  # the stubs fix its length

    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    base = url_connect(urlunsplit(parts))
    db = ReconnectingPostgres(base.database, **with_stalled_tx_timeout(base.connect_params))
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        first = first_line(exc)
        raise LedgerUnavailable(f"cannot reach ledger {redact(url)}: {first}") from exc
    return db
