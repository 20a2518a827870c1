"""The board's reads answered from a moment in the past (time travel, `--at TIME`).

`SnapshotLedger` implements the board's reads (`api.BoardReads`: board_flows, flows_by_ids,
latest_tasks_of, task_counts, the two pressure lines, supervisors, the event ids), answered
in memory from `replay.state_at`: the ledger rebuilt from its event log at `at`. The board
does not know the difference, so rows, ordering, filters and the header are the same code as
the live board. Nothing here writes; nothing moves (no new events ever arrive at a past
moment).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .flow_filter import flow_matches, issue_count
from .replay import Snapshot, state_at
from .states import ACTIVE_FLOW, TERMINAL_FLOW


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

    @property
    def display_url(self) -> str:
        return str(self.ledger.display_url)

    def source_of(self, flow_id: str) -> str | None:
        return None

    def data_version(self) -> int | None:
        return None  # a past moment never changes: nothing to watch

    def undelivered_count(self) -> int:
        return 0  # the event log does not tell what was waiting for delivery then

    def _matches(self, flow: Any, status_filter: str, text: str) -> bool:
        return flow_matches(flow, self._latest.get(flow.flow_id, []), status_filter, text)

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
            "issues": issue_count(by),
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

    def supervisors(self, *, live_only: bool = False) -> list[Any]:
        return []  # supervisors' heartbeats are not in the event log: the past shows none

    def last_event_id(self) -> int:
        return self._last_id

    def events_since(self, after_id: int, limit: int = 10_000) -> list[Any]:
        return []  # a past moment never changes
