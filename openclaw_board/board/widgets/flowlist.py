"""The main list: flows and their tasks, one line each, drawn with Textual's line API.

Only the lines on screen are rendered, and only when something they show changed: new
rows arrive as a whole tuple (built on the service thread), the widget keeps the cursor on
the same flow or task, wherever it moved, and refreshes only the lines whose row differs
(a diff of rows, as dolphie does). A 1 s tick redraws a line only when the text of its
time-dependent cells changed; those are coarse (seconds, then minutes), so a board of
running work writes a line a minute per row, and a settled board nothing.

Marks (for bulk actions) live here too, by row key: they survive refreshes, and a marked
row that scrolls or filters away stays marked until acted on or cleared.
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
from .cells import clock_text, render_row


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

    class Expand(Message):
        """→ / ←: open or close the selected row's flow (the app owns what is open)."""

        def __init__(self, open_it: bool) -> None:
            self.open_it = open_it
            super().__init__()

    class Resized(Message):
        """Its width changed: the column titles above it follow."""

    class MarksChanged(Message):
        def __init__(self, count: int) -> None:
            self.count = count
            super().__init__()

    def __init__(self, clock: Callable[[], int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.rows: tuple[Row, ...] = ()
        self.cursor = 0
        self._index: dict[str, int] = {}
        self._cache: dict[tuple[object, ...], Strip] = {}
        self._width = 0
        self._drawn: dict[str, object] = {}  # row key -> the time-dependent text it was drawn with
        self._style_key: object = None
        self._style_cache: tuple[Style, Style, Style] = (Style(), Style(), Style())
        self.marks: dict[str, Row] = {}  # row key -> the row as last seen
        # What it cost: lines asked to be redrawn, and rows rendered (cache misses). Tests and
        # the bench read them to check that an idle tick costs nothing.
        self.lines_refreshed = 0
        self.rows_rendered = 0
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
        old_rows, old_cursor, old_top = self.rows, self.cursor, int(self.scroll_offset.y)
        self.rows = rows
        self._index = {r.key: i for i, r in enumerate(rows)}
        for key in self.marks.keys() & self._index.keys():
            self.marks[key] = rows[self._index[key]]  # act on what the row is now
        if len(self._cache) > 4000:
            self._cache.clear()
        if old is not None and old.key in self._index:
            self.cursor = self._index[old.key]
        elif old is not None and old.flow is not None and f"f:{old.flow.flow_id}" in self._index:
            self.cursor = self._index[f"f:{old.flow.flow_id}"]  # its flow closed or moved
        else:
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.virtual_size = Size(self.size.width, len(rows))
        self._keep_visible()
        self._refresh_changed(old_rows, old_cursor, old_top)
        self.post_message(self.Moved(self.selected))

    def _refresh_changed(self, old_rows: tuple[Row, ...], old_cursor: int, old_top: int) -> None:
        """Redraw only the visible lines whose row (or cursor) differs from what is on screen."""
        top, height = int(self.scroll_offset.y), self.size.height
        if top != old_top:
            self._refresh_all()
            return
        for y in range(height):
            i = top + y
            before = old_rows[i] if i < len(old_rows) else None
            after = self.rows[i] if i < len(self.rows) else None
            if before != after or (old_cursor != self.cursor and i in (old_cursor, self.cursor)):
                self._refresh_line(y)

    def _refresh_line(self, y: int) -> None:
        self.lines_refreshed += 1
        self.refresh(Region(0, y, self.size.width, 1))

    def _refresh_all(self) -> None:
        self.lines_refreshed += self.size.height
        self.refresh()

    # -- marks -----------------------------------------------------------------------------

    def toggle_mark(self) -> Row | None:
        """Mark or unmark the selected flow or task; returns it (None: nothing to mark)."""
        row = self.selected
        if row is None or row.kind == "more":
            return None
        if self.marks.pop(row.key, None) is None:
            self.marks[row.key] = row
        self._refresh_row(self.cursor)
        self.post_message(self.MarksChanged(len(self.marks)))
        return row

    def clear_marks(self) -> int:
        count = len(self.marks)
        if count:
            marked = set(self.marks)
            self.marks.clear()
            for key in marked:
                if key in self._index:
                    self._refresh_row(self._index[key])
            self.post_message(self.MarksChanged(0))
        return count

    def select_key(self, key: str) -> bool:
        if key in self._index:
            self._move_to(self._index[key])
            return True
        return False

    # -- time ------------------------------------------------------------------------------

    def tick(self) -> None:
        """Redraw the visible lines whose time-dependent text (elapsed, ETA, a retry's countdown)
        differs from what was drawn; compared with what is on screen, so a line already redrawn
        (new rows, a scroll) is not drawn twice."""
        now = self.clock()
        top = int(self.scroll_offset.y)
        for y, row in enumerate(self.rows[top : top + self.size.height]):
            if row.key in self._drawn and clock_text(row, now) != self._drawn[row.key]:
                self._refresh_line(y)

    # -- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_offset.y)
        width = self.row_width
        if width != self._width:  # a resize, or the scrollbar came or went: the titles follow
            self._width = width
            self.call_after_refresh(self.post_message, self.Resized())
        if index >= len(self.rows):
            if index == 0 and self.empty_text:
                text = Text(visible(self.empty_text), style=self._styles()[1], no_wrap=True, end="")
                return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, self.rich_style)
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        now = self.clock()
        selected = index == self.cursor and self.has_focus_within
        marked = row.key in self.marks
        clock = clock_text(row, now)
        if len(self._drawn) > 4000:
            self._drawn.clear()
        self._drawn[row.key] = clock
        key = (row, width, selected, clock, self.app.theme, marked, self.highlight)
        strip = self._cache.get(key)
        if strip is None:
            self.rows_rendered += 1
            base, dim, cursor = self._styles()
            text = render_row(row, width, now, self.app.theme_variables, dim, marked)
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

    @property
    def row_width(self) -> int:
        """The cells a row may fill: the content, less the vertical scrollbar when it shows."""
        return self.scrollable_content_region.width or self.size.width

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
        self.post_message(self.Resized())

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
            self._refresh_line(y)

    def _keep_visible(self) -> None:
        height = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_expand(self, open_it: bool) -> None:
        self.post_message(self.Expand(open_it))

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


__all__ = ["FlowList", "Style"]
