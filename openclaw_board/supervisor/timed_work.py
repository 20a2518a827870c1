"""Work that falls due by the clock rather than by a claim: schedule firings and approval
timeouts. Every supervisor does it about once a second, before it claims (a flow a firing
makes can then start in the same turn); the ledger makes sure each is done once."""

from __future__ import annotations

from ..ledger import Ledger
from ..ledger.scheduling import fire_due

EVERY_S = 1.0  # one indexed query each when nothing is due


def do_timed_work(ledger: Ledger, actor: str) -> None:
    fire_due(ledger, actor=actor)
    ledger.deny_overdue_approvals(actor=actor)
