"""The pulse (`P`): finished tasks, failures and queue depth per minute over the last hour,
per runtime, as sparklines (k9s' Pulses, Oban Web's charts).

The series are read on the service thread (service/pulse_reads.py, through a `Call`) and
made by a pure function (view/pulse.py); this screen only draws them. It asks again when the
board's ledger changes (the app calls `board_changed`) and, live, every few seconds, so
that the minutes move on while nothing happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from ...ledger.clock import Clock, iso
from ..bindings import bindings
from ..service.pulse_reads import PulseReader
from ..service.requests import Call
from ..view.keys import Scope, key_of
from ..view.pulse import MINUTE_MS, Pulse, Series, window_start
from ..view.text import clean

if TYPE_CHECKING:
    from ..app_state import BoardState

REFRESH_S = 10.0  # live: the minutes move on even when nothing is written

# (what, the Series field, its sparkline's class)
LINES = (("finished", "finished", "done"), ("failed", "failed", "failures"), ("queued", "queued", "queue"))


def figure(what: str, values: tuple[int, ...]) -> str:
    """The number beside a sparkline: the hour's total, or the queue's depth now and its peak."""
    if what == "queued":
        return f"now {values[-1] if values else 0} · peak {max(values, default=0)}"
    return f"{sum(values)} in the hour · peak {max(values, default=0)}/min"


class PulseScreen(Screen[None]):
    DEFAULT_CSS = """
    PulseScreen { layout: vertical; }
    PulseScreen #pulse-head {
        height: 2; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
    }
    PulseScreen #pulse-body { height: 1fr; padding: 0 1; }
    PulseScreen .pulse-runtime { height: 1; margin-top: 1; text-style: bold; }
    PulseScreen .pulse-line { height: 1; }
    PulseScreen .pulse-what { width: 10; color: $text-muted; }
    PulseScreen Sparkline { width: 1fr; max-width: 60; height: 1; margin-right: 2; }  /* a cell a minute */
    PulseScreen .pulse-figure { width: 30; }
    PulseScreen Sparkline.done > .sparkline--max-color { color: $success; }
    PulseScreen Sparkline.done > .sparkline--min-color { color: $success 40%; }
    PulseScreen Sparkline.failures > .sparkline--max-color { color: $error; }
    PulseScreen Sparkline.failures > .sparkline--min-color { color: $error 40%; }
    PulseScreen Sparkline.queue > .sparkline--max-color { color: $warning; }
    PulseScreen Sparkline.queue > .sparkline--min-color { color: $warning 40%; }
    """
    BINDINGS = bindings(Scope.PULSE)

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.reader = PulseReader(clock)  # touched only on the service thread, through Call
        self.pulse: Pulse | None = None
        self._runtimes: tuple[str, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the event log…"), id="pulse-head")
        yield VerticalScroll(id="pulse-body")
        yield Footer()

    def on_mount(self) -> None:
        self.board_changed()
        if self._board.live:
            self.set_interval(REFRESH_S, self.board_changed, name="pulse")

    @property
    def _board(self) -> BoardState:
        return self.app  # type: ignore[return-value]  # only ever pushed by the board

    def board_changed(self) -> None:
        """Ask the service thread for what is new (the board's ledger changed, or time moved)."""
        from ..service.answers import PulseRead

        service = self._board.service
        if service is not None:
            service.submit(Call(self.reader.request(lambda p: self._board._deliver(PulseRead(p)))))

    # -- drawing --------------------------------------------------------------------------------

    async def show(self, pulse: Pulse) -> None:
        """The service thread's answer (routed here by the app)."""
        self.pulse = pulse
        start, end = window_start(pulse.now, pulse.minutes), (pulse.now // MINUTE_MS + 1) * MINUTE_MS
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append("Pulse", style="bold")
        head.append(f"  tasks per minute and runtime, {_hhmm(start)}–{_hhmm(end)} UTC\n")
        if pulse.note:
            head.append(clean(pulse.note, 200), style="italic")
        elif not pulse.series:
            head.append("nothing finished or queued in the last hour", style="italic")
        else:
            head.append("failed: failed, timed out or lost · queued: to run or awaiting approval · "
                        f"{key_of('close', Scope.PULSE)} closes", style="dim")
        self.query_one("#pulse-head", Static).update(head)
        runtimes = tuple(s.runtime for s in pulse.series)
        if runtimes != self._runtimes:
            self._runtimes = runtimes
            body = self.query_one("#pulse-body", VerticalScroll)
            await body.remove_children()
            await body.mount_all([w for i, s in enumerate(pulse.series) for w in _block(i, s)])
            return
        for i, s in enumerate(pulse.series):
            for what, field, _ in LINES:
                values: tuple[int, ...] = getattr(s, field)
                self.query_one(f"#spark-{i}-{what}", Sparkline).data = list(values)
                self.query_one(f"#figure-{i}-{what}", Static).update(figure(what, values))

    def action_close(self) -> None:
        self.dismiss(None)


def _hhmm(ms: int) -> str:
    return (iso(ms) or "")[11:16]


def _block(i: int, s: Series) -> list[Static | Horizontal]:
    """A runtime's title and its three lines; ids by position, so that a redraw finds them."""
    out: list[Static | Horizontal] = [Static(Text(clean(s.runtime, 60)), classes="pulse-runtime")]
    for what, field, cls in LINES:
        values: tuple[int, ...] = getattr(s, field)
        out.append(Horizontal(
            Static(what, classes="pulse-what"),
            Sparkline(list(values), summary_function=max, id=f"spark-{i}-{what}", classes=cls),
            Static(figure(what, values), id=f"figure-{i}-{what}", classes="pulse-figure"),
            classes="pulse-line"))
    return out
