"""Whose files we trust: the rule for the state directory, the ledger and the themes directory.

A ledger can make the supervisor run commands, as whoever runs it. So, as ssh does with
`StrictModes`, a file or directory we read it from must belong to us (or to root) and must
not be writable by group or others; else someone else could have written it, or could swap
it. A directory of ours that is looser than 0700 is tightened (unless it is a shared sticky
directory such as /tmp: that is refused instead, never chmod'ed). A ledger of ours that
anyone may read is made 0600 (`private_file`), and the caller says so.

Only `os.stat`, `os.chmod` and `os.mkdir`: never `open()` (see db.check_sqlite_file).
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from .errors import LedgerUnavailable


class UnsafePath(LedgerUnavailable, OSError):
    """A file or directory we cannot use: someone else could write it, or it cannot be made.
    An OSError too, as the `mkdir` it replaces was: callers that handled that still do."""


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _trusted(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def foreign_owner(st: os.stat_result, what: str, path: Path) -> UnsafePath | None:
    if _trusted(st.st_uid):
        return None
    return UnsafePath(
        f"{what} {path} belongs to {_owner(st.st_uid)}, not to you or root: whoever owns it could make "
        f"the supervisor run commands as you; refusing it (use a {what} of your own)"
    )


def private_dir(path: Path, what: str = "state directory", *, create: bool = True, fix: bool = True) -> Path:
    """`path` as a directory only we (or root) can write: created 0700 when missing; ours and
    looser than 0700: tightened (with `fix`); anything else someone else can write: refused."""
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except FileExistsError:
            pass  # not a directory: said below
        except OSError as exc:
            raise UnsafePath(
                f"cannot create {what} {path}: {exc.strerror or exc}; "
                "set OPENCLAW_BOARD_HOME to a directory you can write"
            ) from None
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnsafePath(f"{what} {path} cannot be used: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{what} {path} is not a directory")
    problem = foreign_owner(st, what, path)
    if problem:
        raise problem
    mode = stat.S_IMODE(st.st_mode)
    shared = bool(mode & stat.S_ISVTX)
    if fix and not shared and st.st_uid == os.geteuid() and mode & 0o077:
        try:
            os.chmod(path, 0o700)
            mode = 0o700
        except OSError:
            pass  # a read-only filesystem: then nobody can write it either; judged below
    if mode & 0o022:
        raise UnsafePath(
            f"{what} {path} is writable by group or others (mode {mode:o}): anyone who can write it "
            f"could plant a ledger or swap one; use a directory of its own (chmod 700 {path})"
        )
    return path


def refuse_untrusted(path: Path, st: os.stat_result) -> None:
    """Refuse a ledger file someone else owns or can write, and its planted -wal/-shm.
    Only stat: safe before SQLite reads a byte of it (and before we ask whether it is OpenClaw's)."""
    problem = foreign_owner(st, "ledger", path)
    if problem:
        raise problem
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise UnsafePath(
            f"ledger {path} is writable by others (mode {mode:o}); "
            f"it can make the supervisor run commands: chmod 600 {path}"
        )
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        try:
            side_st = os.lstat(side)
        except OSError:
            continue
        problem = foreign_owner(side_st, "ledger file", side)
        if problem or stat.S_ISLNK(side_st.st_mode):
            raise problem or UnsafePath(f"ledger file {side} is a symbolic link: refusing it")


def check_ledger_file(path: Path, st: os.stat_result) -> str | None:
    """`refuse_untrusted`; then a ledger of ours anyone may read is made 0600: returns the note."""
    refuse_untrusted(path, st)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o004 and st.st_uid == os.geteuid():
        try:
            os.chmod(path, 0o600)
        except OSError:
            return None  # read-only filesystem: leave it as it is
        return f"ledger {path} was readable by everyone (mode {mode:o}): made it 600"
    return None
