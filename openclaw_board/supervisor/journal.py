"""The supervisor's own log: what it did (claims, starts, exits, kills, re-attachments).

One line per action, `<ISO time> <supervisor id prefix> <message>`, appended to
`<state>/supervisor.log` (0600). Several supervisors may share the file: each line is one
`write()` on an O_APPEND descriptor, so lines do not interleave. When the file passes
MAX_BYTES it is renamed to `supervisor.log.1` (one generation kept).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import peewee as pw

from ..ledger.clock import iso, system_clock
from ..ledger.db import PG_STALLED_TX_TIMEOUT_MS
from ..ledger.errors import first_line
from ..safetext import visible

MAX_BYTES = 10 << 20


class Journal:
    def __init__(self, path: Path, echo: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.echo = echo
        self.prefix = "--------"
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        # Messages quote labels and errors: one line each, with no control character that a
        # `tail` of this file on a terminal would obey (`safetext.visible`).
        message = visible(message)
        line = f"{iso(system_clock())} {self.prefix} {message}\n"
        with self._lock:
            try:
                # One stat a line (a line per claim and per result: the directory is made only
                # when the file is not there).
                try:
                    if os.stat(self.path).st_size > MAX_BYTES:
                        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                except FileNotFoundError:
                    self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, line.encode("utf-8", "replace"))
                finally:
                    os.close(fd)
            except OSError:
                pass  # the journal must never stop the supervisor
        if self.echo is not None:
            self.echo(message)


def ledger_trouble(exc: BaseException, turn_s: float, *, postgres: bool) -> str:
    """How a failed ledger call is journalled. A PostgreSQL session cut after a turn longer
    than PG_STALLED_TX_TIMEOUT_MS is what a stop inside a transaction leads to (the server
    ended the session to free its locks): said as such, not as an error. Anything else is a
    ledger error, retried."""
    first = first_line(exc)
    if (postgres and isinstance(exc, (pw.OperationalError, pw.InterfaceError))
            and turn_s * 1000 > PG_STALLED_TX_TIMEOUT_MS):
        return (f"this turn took {turn_s:.1f} s (stopped or starved), so the ledger's server ended our "
                f"session and its open transaction ({first}); reconnecting")
    return f"ledger error ({type(exc).__name__}), retrying: {first}"
