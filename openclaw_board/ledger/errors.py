"""Errors the Ledger API raises. Each carries one line an operator can act on."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class: a refused operation. Nothing was written."""


class NotFound(LedgerError):
    pass


class Ambiguous(LedgerError):
    pass


class IllegalTransition(LedgerError):
    pass


class SpecError(LedgerError):
    """An invalid flow spec: names the file, the task and the field."""


class LedgerUnavailable(LedgerError):
    """The ledger cannot be opened: missing, locked, corrupt, unsafe or too new."""


class StaleOwner(LedgerError):
    """A supervisor wrote about a task it no longer owns (its lease was taken over)."""


class LedgerFull(LedgerError):
    """The disk under the ledger is full: the write was refused whole (SQLite rolled it back)."""


QUOTE_LIMIT = 40


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)` for an error line, cut to `limit` characters plus '…'.

    An error quotes what was wrong, never all of it: a 100 KB label must not come back as a
    100 KB line on the operator's terminal."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "…")
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def first_line(exc: BaseException) -> str:
    """An error's first line, for a one-line message (its type's name when it says nothing)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
