"""What the service thread answers, as Textual messages: the app handles each kind with `@on`."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from ..view.history import Replayed
from ..view.model import Board
from ..view.pulse import Pulse
from ..view.schedules import Schedules


class Answer(Message):
    """Any answer of the service thread (the app counts them to know when it has settled)."""


class Loaded(Answer):
    def __init__(self, board: Board, seq: int) -> None:
        self.board = board
        self.seq = seq  # the request that produced it (0: a live change)
        super().__init__()


class Trouble(Answer):
    def __init__(self, message: str | None) -> None:
        self.message = message  # None: the trouble is over
        super().__init__()


class ActionDone(Answer):
    def __init__(self, ok: bool, message: str) -> None:
        self.ok = ok
        self.message = message
        super().__init__()


class Inspected(Answer):
    def __init__(self, kind: str, ref: str, data: dict[str, Any] | None, error: str | None = None) -> None:
        self.kind = kind
        self.ref = ref
        self.data = data
        self.error = error
        super().__init__()


class HistoryRead(Answer):
    """One flow's history for the replay screen (or why there is none)."""

    def __init__(self, history: Replayed) -> None:
        self.history = history
        super().__init__()


class PulseRead(Answer):
    """The pulse screen's series (board/view/pulse.py), read on the service thread."""

    def __init__(self, pulse: Pulse) -> None:
        self.pulse = pulse
        super().__init__()


class SchedulesRead(Answer):
    """The schedules screen's rows, or why there are none."""

    def __init__(self, schedules: Schedules) -> None:
        self.schedules = schedules
        super().__init__()
