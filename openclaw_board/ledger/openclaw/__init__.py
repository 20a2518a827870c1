"""Read a real OpenClaw install's ledger, read-only, through our Ledger's read API.

    from openclaw_board.ledger.openclaw import open_any
    ledger = open_any("openclaw://")          # $OPENCLAW_STATE_DIR/state/openclaw.sqlite
    ledger = open_any("openclaw:///srv/oc/state/openclaw.sqlite")
    ledger = open_any("sqlite:///tmp/l.db")   # our own Ledger

`open_any` is what the CLI and the board call for every `--db`: an `openclaw:` URL, or a
SQLite file that turns out to hold an OpenClaw ledger, opens an `OpenClawLedger` (so our
Ledger never migrates someone else's database); anything else opens our `Ledger`.
"""

from __future__ import annotations

from typing import Any

from ..db import parse_url
from ..errors import LedgerUnavailable
from .actions import ExternalCommandFailed, ReadOnlyLedger, openclaw_executable
from .connect import looks_like_openclaw
from .location import default_path, is_openclaw_url, resolve_path
from .openclaw_tables import EventRow, FlowRow, TaskRow
from .reader import OpenClawLedger


def is_openclaw(url: str | None) -> bool:
    """An `openclaw:` URL, or a SQLite path/URL whose file is an OpenClaw ledger."""
    if not url:
        return False
    if is_openclaw_url(url):
        return True
    try:
        parsed = parse_url(url)
    except LedgerUnavailable:
        return False
    return parsed.is_sqlite and parsed.path is not None and looks_like_openclaw(parsed.path)


def open_any(url: str | None = None, **kw: Any) -> Any:
    """An OpenClawLedger for an OpenClaw ledger, else our Ledger(url, **kw)."""
    from .. import Ledger
    from ..db import check_trusted, default_url

    url = url or default_url()
    if is_openclaw_url(url):
        return OpenClawLedger(url, clock=kw.get("clock"))
    check_trusted(url)  # before the probe below lets SQLite read a file someone else planted
    if is_openclaw(url):
        path = parse_url(url).path
        return OpenClawLedger(f"openclaw://{path.resolve()}", clock=kw.get("clock"))  # type: ignore[union-attr]
    return Ledger(url, **kw)


__all__ = [
    "EventRow", "ExternalCommandFailed", "FlowRow", "OpenClawLedger", "ReadOnlyLedger", "TaskRow",
    "default_path", "is_openclaw", "is_openclaw_url", "open_any", "openclaw_executable", "resolve_path",
]
