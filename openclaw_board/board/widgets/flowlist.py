"""The main list: flows and their tasks, one line each, drawn with Textual's line API.

Only the lines on screen are rendered, and only when something they show changed: new
rows arrive as a whole tuple (built on the service thread) and the widget keeps the
cursor on the same flow or task, wherever it moved. A 1 s tick redraws only when a
visible time column actually changed (running work), so an idle board writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...safetext import visible
from ..bindings import bindings
from ..view.keys import Scope
from ..view.model import Row
from ..view.text import age, approval_left
from .cells import render_row


class FlowList(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"flowlist--cursor", "flowlist--dim"}
    BINDINGS = bindings(Scope.LIST)

    class Moved(Message):
        def __init__(self, row: Row | None) -> None:
            self.row = row
            super().__init__()

    class Activated(Message):
        def __init__(self, row: Row) -> None:
            self.row = row
            super().__init__()

    def __init__(self, clock: Callable[[], int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.rows: tuple[Row, ...] = ()
        self.cursor = 0
        self._index: dict[str, int] = {}
        self._cache: dict[tuple[object, ...], Strip] = {}
        self._times: tuple[object, ...] = ()
        self._style_key: object = None
        self._style_cache: tuple[Style, Style, Style] = (Style(), Style(), Style())
        self.empty_text = ""  # what an empty list says instead (a filter that matches nothing)
        self.highlight = ""  # the filter's text, marked in the rows that show it

    def show_view(self, empty_text: str, highlight: str) -> None:
        """What the view asked for that the rows do not carry: the empty text, the matches."""
        if (empty_text, highlight) != (self.empty_text, self.highlight):
            self.empty_text, self.highlight = empty_text, highlight
            self._cache.clear()
            self.refresh()

    # -- data ---------------------------------------------------------------------------

    @property
    def selected(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: tuple[Row, ...]) -> None:
        if rows == self.rows:
            return
        old = self.selected
        self.rows = rows
        self._index = {r.key: i for i, r in enumerate(rows)}
        self._cache.clear()
        if old is not None and old.key in self._index:
            self.cursor = self._index[old.key]
        elif old is not None and old.flow is not None and f"f:{old.flow.flow_id}" in self._index:
            self.cursor = self._index[f"f:{old.flow.flow_id}"]  # its flow closed or moved
        else:
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.virtual_size = Size(self.size.width, len(rows))
        self._keep_visible()
        self.refresh()
        self.post_message(self.Moved(self.selected))

    def select_key(self, key: str) -> bool:
        if key in self._index:
            self._move_to(self._index[key])
            return True
        return False

    # -- time ------------------------------------------------------------------------------

    def tick(self) -> None:
        """Redraw if a time shown on screen changed (elapsed of running work)."""
        now = self.clock()
        top = int(self.scroll_offset.y)
        visible = self.rows[top : top + self.size.height]
        sig = tuple(_time_key(r, now) for r in visible)
        if sig == self._times:
            return
        old, self._times = self._times, sig
        if len(old) != len(sig):
            self.refresh()
            return
        for y, (a, b) in enumerate(zip(old, sig, strict=True)):
            if a != b:  # only the lines whose clock moved
                self.refresh(Region(0, y, self.size.width, 1))

    # -- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_offset.y)
        width = self.size.width
        if index >= len(self.rows):
            if index == 0 and self.empty_text:
                text = Text(visible(self.empty_text), style=self._styles()[1], no_wrap=True, end="")
                return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        now = self.clock()
        selected = index == self.cursor and self.has_focus_within
        key = (row, width, selected, _time_key(row, now), self.app.theme, self.highlight)
        strip = self._cache.get(key)
        if strip is None:
            base, dim, cursor = self._styles()
            text = render_row(row, width, now, self.app.theme_variables, dim)
            if self.highlight:  # literal text (re.escape'd by Rich), never markup
                text.highlight_words([self.highlight], Style(reverse=True), case_sensitive=False)
            if selected:
                text.stylize(cursor)
            strip = Strip(list(text.render(self.app.console)), text.cell_len).apply_style(base)
            strip = strip.crop_extend(0, width, base)
            if len(self._cache) > 4000:
                self._cache.clear()
            self._cache[key] = strip
        return strip

    def _styles(self) -> tuple[Style, Style, Style]:
        """Base, dim and cursor styles, looked up once per theme (they cost on every line)."""
        key = (self.app.theme, self.has_focus)
        if self._style_key != key:
            self._style_key = key
            self._style_cache = (
                self.rich_style,
                # Not partial: a muted colour is the foreground at part opacity, and only the
                # full style blends it over the background (partial gave white on light themes).
                self._without_background(self.get_component_rich_style("flowlist--dim", partial=False)),
                self._background_only(self.get_component_rich_style("flowlist--cursor", partial=False)),
            )
        return self._style_cache

    @staticmethod
    def _without_background(style: Style) -> Style:
        return Style(color=style.color, bold=style.bold, italic=style.italic, dim=style.dim)

    @staticmethod
    def _background_only(style: Style) -> Style:
        """The cursor: its blended background and weight; each cell keeps its own colour."""
        return Style(bgcolor=style.bgcolor, bold=style.bold)

    @property
    def has_focus_within(self) -> bool:
        return self.has_focus or not self.screen.is_current or self.app.focused is None

    def on_resize(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self.rows))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- moving ----------------------------------------------------------------------------

    def _move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index == self.cursor:
            return
        old, self.cursor = self.cursor, index
        self._keep_visible()
        self._refresh_row(old)
        self._refresh_row(index)
        self.post_message(self.Moved(self.selected))

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_offset.y)
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _keep_visible(self) -> None:
        height = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.size.height - 1))

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self.rows) - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)

    def on_click(self, event: events.Click) -> None:
        index = event.y + int(self.scroll_offset.y)
        if 0 <= index < len(self.rows):
            self._move_to(index)
            if event.chain >= 2:
                self.post_message(self.Activated(self.rows[index]))


def _time_key(row: Row, now: int) -> object:
    """The text of `now` this row shows: None for settled rows, so they are never redrawn."""
    if row.task is not None and row.kind == "task":
        t = row.task
        if t.ended_at is None:
            if t.status == "running" and t.started_at:
                return now // 1000
            if t.not_before and t.not_before > now:
                return (now // 1000, t.not_before)
            if t.status == "awaiting_approval" and t.approval_timeout_s:
                return approval_left(t.created_at, t.approval_timeout_s, now)
            return age(now - t.created_at)
        return None
    if row.flow is not None and row.flow.ended_at is None:
        return age(now - row.flow.created_at)
    return None


__all__ = ["FlowList", "Style"]
