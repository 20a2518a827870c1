"""The reads behind time travel, on the service thread: one flow's whole history, read once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ledger.snapshot_ledger import SnapshotLedger
from ..view.history import Replayed


def read_flow_history(ledger: Any, flow_id: str) -> Replayed:
    """On the service thread: everything a replay needs, in three reads."""
    flow = ledger.get_flow(flow_id)
    return Replayed(flow.flow_id, flow, list(ledger.flow_attempts(flow.flow_id)),
                    list(ledger.flow_events(flow.flow_id)))


def history_request(flow_id: str, deliver: Callable[[Replayed], None]) -> Callable[[Any], None]:
    """A function for the service thread that reads the flow's history and delivers a Replayed (or why not)."""

    def read(ledger: Any) -> None:
        live = ledger.ledger if isinstance(ledger, SnapshotLedger) else ledger  # history is the whole log
        try:
            if live is None:
                raise LookupError("the ledger cannot be read right now")
            answer = read_flow_history(live, flow_id)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            answer = Replayed(flow_id, error=(str(exc).splitlines() or [type(exc).__name__])[0])
        deliver(answer)

    return read
