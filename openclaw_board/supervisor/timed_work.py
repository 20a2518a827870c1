"""Work that falls due by the clock rather than by a claim: schedule firings, approval
timeouts, and fresh planner statistics. Every supervisor does it about once a second,
before it claims (a flow a firing makes can then start in the same turn); the ledger makes
sure each firing and each denial happens once."""

from __future__ import annotations

import time

from ..ledger import Ledger
from ..ledger.scheduling import fire_due

EVERY_S = 1.0  # one indexed query each when nothing is due
OPTIMIZE_EVERY_S = 600.0  # a long-lived supervisor's ledger grows: its query plans must follow


class TimedWork:
    def __init__(self, actor: str) -> None:
        self.actor = actor
        self._next_optimize = time.monotonic() + OPTIMIZE_EVERY_S

    def run(self, ledger: Ledger) -> None:
        fire_due(ledger, actor=self.actor)
        ledger.deny_overdue_approvals(actor=self.actor)
        if time.monotonic() >= self._next_optimize:
            # Statistics were refreshed only when a ledger was closed; a supervisor that runs for
            # weeks kept the plans of an empty ledger (PostgreSQL) or of its first day (SQLite).
            ledger.optimize()
            self._next_optimize = time.monotonic() + OPTIMIZE_EVERY_S
