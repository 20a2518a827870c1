"""Time travel on the board (`t`): one flow stepped through its events, as it was then.

The top shows the event being stepped (its time, what happened); the middle the flow and
its tasks as they were right after it, drawn by the same row renderer as the main list;
the bottom the flow's timeline with the current event marked. The history is read once
on the service thread (service/history_reads.py); stepping is pure and in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...ledger.clock import iso
from ..bindings import bindings
from ..view.history import Replayed, event_line, index_at, rows_after, task_names, window
from ..view.keys import Scope, key_of
from ..view.text import clean
from ..widgets.cells import header_text, render_row

if TYPE_CHECKING:
    from ..board_app import BoardApp


class ReplayScreen(Screen[None]):
    DEFAULT_CSS = """
    ReplayScreen { layout: vertical; }
    ReplayScreen #replay-head { height: 3; padding: 0 1; background: $panel; }
    ReplayScreen #replay-columns { height: 1; padding: 0 1; color: $text-muted; }
    ReplayScreen #replay-rows { height: auto; max-height: 50%; padding: 0 1; }
    ReplayScreen #replay-timeline-title { height: 1; padding: 0 1; margin-top: 1; color: $text-muted; }
    ReplayScreen #replay-events { height: 1fr; padding: 0 1; }
    """
    BINDINGS = bindings(Scope.REPLAY)

    def __init__(self, flow_id: str, at: int | None = None) -> None:
        super().__init__()
        self.flow_id = flow_id
        self.start_at = at  # open at the last event at or before this moment (None: the newest)
        self.history: Replayed | None = None
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the flow's history…"), id="replay-head")
        yield Static("", id="replay-columns")
        yield Static("", id="replay-rows")
        yield Static("", id="replay-timeline-title")
        yield Static("", id="replay-events")
        yield Footer()

    # -- data -----------------------------------------------------------------------------

    def show(self, history: Replayed) -> None:
        """The service thread's answer arrived (routed here by the app)."""
        self.history = history
        self.index = index_at(history.events, self.start_at)
        self.redraw()

    @property
    def current_at(self) -> int | None:
        h = self.history
        return h.events[self.index].at if h and h.events else None

    # -- keys -------------------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        if self.history and self.history.events:
            self.index = max(0, min(len(self.history.events) - 1, self.index + delta))
            self.redraw()

    def action_jump(self, where: int) -> None:
        if self.history and self.history.events:
            self.index = where if where >= 0 else len(self.history.events) - 1
            self.redraw()

    def action_close(self) -> None:
        self.dismiss(None)

    # -- drawing --------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        h = self.history
        if h is None:
            return
        width = max(20, self.size.width - 2)
        head = self.query_one("#replay-head", Static)
        if h.error is not None or not h.events:
            head.update(Text(f"time travel: {clean(h.error) or 'this flow has no events'}", no_wrap=True))
            return
        app: BoardApp = self.app  # type: ignore[assignment]
        colors = app.theme_variables
        dim = Style(dim=True)
        ev = h.events[self.index]
        title = Text(no_wrap=True, end="")
        title.append("time travel  ", style=Style(bold=True))
        title.append(clean(h.flow.goal, 200))
        if h.flow.label:
            title.append(f" ({clean(h.flow.label, 60)})", style=dim)
        title.truncate(width, overflow="ellipsis")
        when = Text(no_wrap=True, end="")
        when.append(f"event {self.index + 1}/{len(h.events)}", style=Style(bold=True))
        when.append(f"  as of {iso(ev.at)}", style=Style(color=_accent(colors)))
        names = task_names(h)
        step = event_line(ev, h.events[0].at, names, width)
        head.update(Text("\n", end="").join([title, when, step]))
        self.query_one("#replay-columns", Static).update(header_text(width, Style(bold=True, dim=True)))
        rows = rows_after(h, self.index)
        body = Text("\n", end="").join(render_row(r, width, ev.at, colors, dim) for r in rows)
        self.query_one("#replay-rows", Static).update(body)
        self.query_one("#replay-timeline-title", Static).update(
            Text(_timeline_title(), no_wrap=True))
        events = self.query_one("#replay-events", Static)
        height = events.size.height or max(3, self.size.height - len(rows) - 9)
        marked = Style(reverse=True, bold=True)
        lines = []
        for i in window(len(h.events), self.index, height):
            mark = "▶ " if i == self.index else "  "
            line = Text(mark, end="", no_wrap=True)
            line.append_text(event_line(h.events[i], h.events[0].at, names, width - 2,
                                        marked if i == self.index else None))
            lines.append(line)
        events.update(Text("\n", end="").join(lines))


def _accent(colors: dict[str, str]) -> RichColor:
    from ..theme.palette import rich_color

    return rich_color(colors.get("accent", "cyan"))


def _timeline_title() -> str:
    """`TIMELINE  ← → step · g G first / last · PgUp PgDn ten · Esc close`, from the key table."""
    def pair(back: str, forward: str) -> str:
        return f"{key_of(back, Scope.REPLAY)} {key_of(forward, Scope.REPLAY)}"

    return (f"TIMELINE  {pair('step(-1)', 'step(1)')} step · {pair('jump(0)', 'jump(-1)')} first / last · "
            f"{pair('step(-10)', 'step(10)')} ten · {key_of('close', Scope.REPLAY)} close")
