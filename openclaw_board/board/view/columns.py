"""The main list's columns for a width: a pure function, so the layout is tested without Textual.

Fixed columns get what their values need (STATUS is as wide as its longest label, not wider);
the goal (the name) and the detail share what is left, the name first, because the goal is
what an operator reads a row by. Narrow terminals drop the least useful columns first
(runtime, then the attempt) but always keep the status and a compact progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ledger.states import ACTIVE_TASK, TERMINAL_TASK

# Every status a row shows, and its label where the full name is too long for the column.
SHORT_STATUS: dict[str, str] = {"awaiting_approval": "approval?"}
_STATUSES = (*ACTIVE_TASK, *TERMINAL_TASK, "waiting")
STATUS_WIDTH = max(len(SHORT_STATUS.get(s, s)) for s in _STATUSES)
TIME_WIDTH = 7  # "ELAPSED"; values are at most 6 ("23h59m", "12d23h")
MARK_WIDTH = 1


@dataclass(frozen=True)
class Columns:
    name: int  # the tree's goal or task label; the flat view's task label
    runtime: int  # 0: not shown
    status: int
    attempt: int  # 0: not shown
    time: int
    bar: int
    detail: int
    flow: int = 0  # the flat view's flow goal (0 in the tree)
    mark: int = MARK_WIDTH

    @property
    def total(self) -> int:
        """The width they fill: each column plus one space after it (none after the mark or detail)."""
        shown = [w for w in (self.name, self.flow, self.runtime, self.status, self.attempt, self.time, self.bar)
                 if w]
        return self.mark + sum(shown) + len(shown) + self.detail


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, int(value)))


def columns(width: int, flat: bool = False) -> Columns:
    """The columns of a `width`-cell row, in the tree or the flat view."""
    runtime = 10 if width >= 180 else 8 if width >= 140 else 0
    attempt = 3 if width >= 90 else 0
    bar = 20 if width >= 160 else 12 if width >= 100 else 8
    fixed = [runtime, STATUS_WIDTH, attempt, TIME_WIDTH, bar]
    used = MARK_WIDTH + sum(w + 1 for w in fixed if w)
    if flat:
        free = max(0, width - used - 2)  # the spaces after the name and the flow
        name = _clamp(free * 0.25, 12, 28)  # task labels are short; the goal says which work it is
        flow = _clamp(free * 0.4, 12, 64)
        return Columns(name, runtime, STATUS_WIDTH, attempt, TIME_WIDTH, bar, max(0, free - name - flow), flow)
    free = max(0, width - used - 1)  # the space after the name
    name = _clamp(free * 0.67, 16, 64)
    return Columns(name, runtime, STATUS_WIDTH, attempt, TIME_WIDTH, bar, max(0, free - name))


def status_label(status: str, width: int) -> str:
    return status if len(status) <= width else SHORT_STATUS.get(status, status[:width])
