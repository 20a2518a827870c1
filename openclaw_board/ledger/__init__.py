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
from .leases import Leases
from .queries import Queries
from .runs import Runs
from .spec import FlowSpec, TaskSpec, command_spec, load_spec, parse_spec
from .supervisors import Supervisors
from .transitions import Transitions


class Ledger(Transitions, Runs, Leases, Supervisors, Queries, Audit):
    """Open a ledger by URL (`sqlite:///path`, a path, `postgresql://...`).

    Its parts are siblings over one base (core.LedgerBase: the database, the models,
    transactions, events, lookups): operator writes, the supervisor's runs, leases,
    supervisors, reads, audit. None of them calls another; what they share is the base's,
    or settle.py's."""


__all__ = [
    "Ambiguous", "Finding", "FlowSpec", "IllegalTransition", "Ledger", "LedgerError",
    "LedgerFull", "LedgerUnavailable", "NotFound", "SpecError", "StaleOwner", "TaskSpec", "command_spec",
    "load_spec", "parse_spec",
]
