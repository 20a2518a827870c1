"""The ledger: flows, task attempts and the event log, and the only API that changes them.

    from openclaw_board.ledger import Ledger
    with Ledger("sqlite:///tmp/l.db") as ledger:
        flow_id, tasks = ledger.submit(load_spec("flow.toml"))
"""

from __future__ import annotations

from .audit import Audit, Finding
from .errors import (
    Ambiguous,
    IllegalTransition,
    LedgerError,
    LedgerFull,
    LedgerUnavailable,
    NotFound,
    SpecError,
    StaleOwner,
)
from .spec import FlowSpec, TaskSpec, command_spec, load_spec, parse_spec


class Ledger(Audit):
    """Open a ledger by URL (`sqlite:///path`, a path, `postgresql://...`)."""

    def __enter__(self) -> Ledger:
        return self


__all__ = [
    "Ambiguous", "Finding", "FlowSpec", "IllegalTransition", "Ledger", "LedgerError",
    "LedgerFull", "LedgerUnavailable", "NotFound", "SpecError", "StaleOwner", "TaskSpec", "command_spec",
    "load_spec", "parse_spec",
]
