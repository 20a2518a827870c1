"""The board as it was at a moment (time travel, `--at TIME`): a Service whose reader reads
the ledger through `ledger.snapshot_ledger.SnapshotLedger`, the ledger rebuilt from its event
log at that moment. The board is read-only then: nothing is ever asked to act.
"""

from __future__ import annotations

from ...ledger.snapshot_ledger import SnapshotLedger
from .board_reads import Reader
from .ledger_thread import Service


def past_service(at: int) -> type[Service]:
    """A board Service whose reader reads the ledger as it was at `at`."""

    class PastService(Service):
        def _reader(self) -> Reader:
            if self.reader is None:
                super()._reader()  # opens the live ledger (and notes its file) as the board does
                self.reader = Reader(SnapshotLedger(self.ledger, at))
            return self.reader

    return PastService
