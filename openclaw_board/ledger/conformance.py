"""Holds each ledger to the interface it claims (api.py), for the type checker.

Nothing here runs: mypy reads the assignments below and reports a ledger whose methods or
rows drift from the protocols.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Ledger
    from .api import BoardReads, LedgerReads, OperatorActions, ReadLedger
    from .multi import MultiLedger
    from .openclaw import OpenClawLedger
    from .snapshot_ledger import SnapshotLedger

    def _conforms(ours: Ledger, openclaw: OpenClawLedger, multi: MultiLedger, past: SnapshotLedger) -> None:
        every: list[BoardReads] = [ours, openclaw, multi, past]
        reads: list[LedgerReads] = [ours, openclaw, multi]
        actions: list[OperatorActions] = [ours, openclaw, multi]
        opened: list[ReadLedger] = [ours, openclaw, multi]
        del every, reads, actions, opened
