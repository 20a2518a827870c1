"""The board's reads answered from a moment in the past (time travel, `--at TIME`).

`SnapshotLedger` offers the handful of read methods that board/service/board_reads.py calls on a
ledger (board_flows, flows_by_ids, latest_tasks_of, task_counts, the two pressure
lines, supervisors, the event ids), answered in memory from `replay.state_at`: the
ledger rebuilt from its event log at `at`. The reader does not know the difference, so
rows, ordering, filters and the header are the same code as the live board. Nothing
here writes; nothing moves (no new events ever arrive at a past moment).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..ledger.replay import Snapshot, state_at
from ..ledger.states import ACTIVE_FLOW, ISSUE_TASK, TERMINAL_FLOW

ISSUE_FLOW = frozenset({"blocked", "failed", "lost"})


class SnapshotLedger:
    def __init__(self, ledger: Any, at: int) -> None:
        self.ledger = ledger  # the live one: for reads that are not about the board's rows
        self.at = at
        self.snapshot: Snapshot = state_at(ledger, at)
        self._flows = {f.flow_id: f for f in self.snapshot.flows}
        self._latest: dict[str, list[Any]] = {f: [] for f in self._flows}
        for t in self.snapshot.latest_tasks():
            self._latest.setdefault(t.flow_id, []).append(t)
        for tasks in self._latest.values():
            tasks.sort(key=lambda t: (t.created_at, t.label))
        self._last_id = self.snapshot.events[-1].id if self.snapshot.events else 0

    # -- what the board reader calls ----------------------------------------------------

    def _matches(self, flow: Any, status_filter: str, text: str) -> bool:
        """The same filter as the ledger's `_flows_filtered`, in memory."""
        tasks = self._latest.get(flow.flow_id, [])
        if status_filter == "active" and flow.status not in ACTIVE_FLOW:
            return False
        if status_filter in ("issues", "blocked"):
            task_statuses = ISSUE_TASK if status_filter == "issues" else {"blocked"}
            flow_statuses = ISSUE_FLOW if status_filter == "issues" else {"blocked"}
            if flow.status not in flow_statuses and not any(t.status in task_statuses for t in tasks):
                return False
        text = text.strip()
        if text:
            needle = text.casefold()
            if not (needle in (flow.goal or "").casefold() or needle in (flow.label or "").casefold()
                    or flow.flow_id.startswith(text.lower())
                    or any(needle in t.label.casefold() for t in tasks)):
                return False
        return True

    def board_flows(self, status_filter: str, text: str, *, active_cap: int,
                    terminal_limit: int) -> tuple[list[Any], list[Any], int]:
        chosen = [f for f in self._flows.values() if self._matches(f, status_filter, text)]
        active = sorted((f for f in chosen if f.status in ACTIVE_FLOW), key=lambda f: -f.created_at)
        terminal = sorted((f for f in chosen if f.status in TERMINAL_FLOW), key=lambda f: (-f.updated_at, f.flow_id))
        return active[:active_cap], terminal[:terminal_limit], max(0, len(terminal) - terminal_limit)

    def flows_by_ids(self, ids: list[str], status_filter: str = "all", text: str = "") -> list[Any]:
        return [self._flows[i] for i in ids if i in self._flows and self._matches(self._flows[i], status_filter, text)]

    def latest_tasks_of(self, flow_ids: list[str]) -> dict[str, list[Any]]:
        return {i: list(self._latest.get(i, [])) for i in flow_ids}

    def task_counts(self, flow_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
        ids = list(self._flows) if flow_ids is None else flow_ids
        return {i: dict(Counter(t.status for t in self._latest[i])) for i in ids if self._latest.get(i)}

    def task_pressure(self) -> dict[str, int]:
        by = Counter(t.status for t in self.snapshot.latest_tasks())
        return {
            "queued": by["queued"] + by["awaiting_approval"],
            "running": by["running"],
            "issues": sum(by[s] for s in ISSUE_TASK),
        }

    def flow_pressure(self) -> dict[str, int]:
        by = Counter(f.status for f in self._flows.values())
        cancel = sum(1 for f in self._flows.values() if f.cancel_requested_at is not None and f.status in ACTIVE_FLOW)
        return {
            "active": sum(by[s] for s in ACTIVE_FLOW),
            "blocked": by["blocked"],
            "cancel_requested": cancel,
            "total": sum(by.values()),
        }

    def supervisors(self) -> list[Any]:
        return []  # supervisors' heartbeats are not in the event log: the past shows none

    def last_event_id(self) -> int:
        return self._last_id

    def events_since(self, after_id: int, limit: int = 10_000) -> list[Any]:
        return []  # a past moment never changes


def past_service(at: int):  # noqa: ANN201 - a Service subclass, made here to keep service.py as it is
    """A board Service whose reader reads the ledger as it was at `at`."""
    from .service.board_reads import Reader
    from .service.ledger_thread import Service

    class PastService(Service):
        def _reader(self) -> Reader:
            if self.reader is None:
                super()._reader()  # opens the live ledger (and notes its file) as the board does
                self.reader = Reader(SnapshotLedger(self.ledger, at))  # type: ignore[arg-type]
            return self.reader

    return PastService
