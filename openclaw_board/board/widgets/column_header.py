"""The column titles over the main list: always the rows' layout, the sort marked, clickable.

The rows are laid out for the list's own width (which loses a cell when its scrollbar comes),
so the titles are drawn for that width, re-checked after every layout of the screen (a
resize, a scrollbar appearing), not guessed once per resize event (which ran before the list
had its new size and kept the previous layout). A click on a title asks to sort by it.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from ..view.sorting import COLUMN_OF_SORT
from .cells import header_text

_SORT_OF_COLUMN = {title: sort for sort, title in COLUMN_OF_SORT.items()}


def column_spans(plain: str) -> list[tuple[int, int, str]]:
    """(start, end, sort) of each sortable title in a header line, left to right; a title's
    span runs to the next title, so a click anywhere over a column picks it."""
    found = sorted((plain.find(title), sort) for title, sort in _SORT_OF_COLUMN.items() if title in plain)
    spans = []
    for i, (start, sort) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(plain) + 1
        spans.append((0 if i == 0 else start, end, sort))
    return spans


def marked_header(width: int, sort: str, reverse: bool, style: Style, flat: bool = False, marked: int = 0) -> Text:
    """The titles for `width` (of the flat view's columns when `flat`), with ▼/▲ after the
    sorted column's (natural direction ▼) and the count of marked rows at the right."""
    text = header_text(width, style, flat, marked)
    title = COLUMN_OF_SORT.get(sort)
    plain = text.plain
    if title is None or title not in plain:
        return text
    at = plain.find(title) + len(title)
    arrow = "▲" if reverse else "▼"
    if at < len(plain) and plain[at] == " ":
        text = text[:at] + Text(arrow, style=style) + text[at + 1:]
    elif at == len(plain) and at < width:
        text.append(arrow, style=style)
    text.no_wrap, text.end = True, ""
    return text


class ColumnHeader(Static):
    class SortClicked(Message):
        """A column title was clicked: sort by `sort`."""

        def __init__(self, sort: str) -> None:
            self.sort = sort
            super().__init__()

    def __init__(self, rows_width: Callable[[], int], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.rows_width = rows_width  # the width the rows are laid out for
        self.sort = "status"
        self.reverse = False
        self.flat = False
        self.marked = 0
        self._drawn: tuple[object, ...] | None = None
        self._plain = ""

    def on_mount(self) -> None:
        self.screen.screen_layout_refresh_signal.subscribe(self, lambda _screen: self.sync())
        self.sync()

    def width_for_rows(self) -> int:
        return max(20, self.rows_width() or self.content_size.width or 80)

    def sync(self) -> None:
        """Redraw if the rows' width, the sort or the theme changed (an idle board writes nothing)."""
        if not self.is_mounted:
            return
        width = self.width_for_rows()
        key = (width, self.sort, self.reverse, self.flat, self.marked, self.app.theme)
        if key == self._drawn:
            return
        self._drawn = key
        text = marked_header(width, self.sort, self.reverse, Style(bold=True, dim=True), self.flat, self.marked)
        self._plain = text.plain
        self.update(text)

    def set_view(self, flat: bool, marked: int) -> None:
        self.flat, self.marked = flat, marked
        self.sync()

    def set_sort(self, sort: str, reverse: bool) -> None:
        self.sort, self.reverse = sort, reverse
        self.sync()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, end, sort in column_spans(self._plain):
            if start <= offset.x < end:
                self.post_message(self.SortClicked(sort))
                return
