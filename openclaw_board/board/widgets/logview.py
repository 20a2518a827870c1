"""A task's log, drawn a line at a time (Textual's line API) so a 100 MB log opens at once.

The files are indexed (newline offsets) in a worker thread, a chunk at a time, and only
the lines on screen are read (`os.pread`) and drawn. While following, new output is
indexed as it arrives and the view stays at the end; `p` pauses, `/` searches.
The supervisor keeps a head file and the last tail segments (`output.log`,
`output.log.N`); a line marks where the middle was dropped.

`::progress`/`::summary` lines are hidden unless asked for (the inspector shows them as
the bar and the summary); long lines are cut at the edge unless wrapped. Wrapping keeps the
scroll position in log lines and wraps only the lines on screen, so it costs the same on a
100 MB log as on a short one.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from datetime import UTC, datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..bindings import bindings
from ..view.keys import Scope, key_of
from ..view.text import clean_line
from .logindex import LogTimes, Part, index_more, is_control_text, log_files
from .logpaging import top_for_end, top_for_page_down, top_for_page_up
from .logsave import save_and_say


class LogView(ScrollView, can_focus=True):
    BINDINGS = bindings(Scope.LOG)

    class Status(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    def __init__(self, *, live: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.live = live
        self.run_dir: str | None = None
        self.save_as = "task"  # the saved file's name, without `.log`
        self.parts: list[Part] = []
        self.memory: list[str] | None = None  # lines shown when there is no file
        self._memory_shown: list[str] = []  # those without control lines
        self.wrap = False
        self.show_times = False  # `T`: when each line came (UTC), from the wrapper's output.times
        self.times = LogTimes(None)
        self.raw = False  # True: show `::progress`/`::summary` lines as they are
        self._frame: tuple[tuple[object, ...], list[Strip]] | None = None  # wrapped rows on screen
        self._stamp = 0  # bumped on every new layout: a cached frame is then stale
        self._whole_lines = 0  # wrapped: lines the frame shows whole (a page down moves past them)
        self.initial: tuple[str | None, str | None, str | None, str] | None = None  # show_run's, once mounted
        self.following = True
        self.search: str = ""
        self.match_line: int | None = None
        self._index_lock = threading.Lock()
        self._layout: list[tuple[str, object, int]] = []  # ("part", part, n) | ("gap", None, 1)
        self.total = 0

    # -- sources ------------------------------------------------------------------------

    def show_run(self, run_dir: str | None, fallback: str | None, host: str | None = None,
                 save_as: str = "task") -> None:
        """Follow the log files in `run_dir`; show `fallback` text (the ledger's tail) if none:
        a task that ran on another host has its full log there, and its tail in the ledger."""
        self.run_dir = run_dir
        self.save_as = save_as
        self.times = LogTimes(run_dir)
        if log_files(run_dir):
            self.memory = None
            self._start_index()
            if self.live:
                self.set_interval(0.5, self._start_index, name="log-follow")
        elif fallback:
            where = f" on host {host}" if host else ""
            self.show_text(f"(the latest output, kept in the ledger; the full log is{where} in {run_dir})\n"
                           + fallback)
        else:
            self.show_text("(no output recorded)")

    def show_text(self, text: str) -> None:
        self.memory = text.splitlines() or [""]
        self._memory_shown = [line for line in self.memory if not is_control_text(line)]
        self._relayout()

    def _start_index(self) -> None:
        if self._index_lock.locked():
            return  # the previous pass is still reading: never overlap
        self.run_worker(self._index, thread=True, group="log-index", exit_on_error=False)

    def _index(self) -> None:
        with self._index_lock:
            self.times.refresh()
            known = {p.seg: p for p in self.parts}
            parts = [known.get(seg) or Part(seg, path) for seg, path in log_files(self.run_dir)]
            changed = [p.seg for p in parts] != [p.seg for p in self.parts]
            for p in self.parts:
                if p not in parts:
                    p.close()
            self.parts = parts
            for part in parts:
                while (grew := index_more(part)) is not False:
                    changed = True
                    if grew and part.behind():
                        self.app.call_from_thread(self._relayout)  # show what we have so far
            if changed:
                self.app.call_from_thread(self._relayout)

    def _relayout(self) -> None:
        layout: list[tuple[str, object, int]] = []
        if self.memory is not None:
            layout.append(("memory", None, len(self.memory if self.raw else self._memory_shown)))
        else:
            prev = None
            for part in self.parts:
                if prev is not None and part.seg != prev + 1:
                    layout.append(("gap", None, 1))
                layout.append(("part", part, part.lines if self.raw else part.shown_lines()))
                prev = part.seg
        self._layout = layout
        self.total = sum(n for _, _, n in layout)
        self._stamp += 1
        self._size_to_content()
        if self.following:
            self._to_end()
        self.refresh()
        self.post_message(self.Status(self.status_text()))

    def _size_to_content(self) -> None:
        # Wrapped, the last line may sit at the top (the rows below it are the lines' own).
        extra = max(0, self.size.height - 1) if self.wrap else 0
        self.virtual_size = Size(self._width(), self.total + extra)

    def _width(self) -> int:
        """The text's width: the widget's, less its vertical scrollbar."""
        return self.scrollable_content_region.width or self.size.width

    def _to_end(self) -> None:
        """Show the last lines: unwrapped, scroll to the end; wrapped, put the top line where
        the last lines' rows just fill the screen."""
        if not self.wrap:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            return
        top = top_for_end(self.total, self.size.height, self._rows_of)
        self.scroll_to(y=top, animate=False, immediate=True, force=True)  # its scrollbar may come next frame

    def _rows_of(self, index: int) -> int:
        return len(self._wrapped(index, self._width()))

    def status_text(self) -> str:
        mode = "following" if self.following else "paused"
        found = ""
        if self.search:
            found = f" · /{self.search}" + (f" at line {self.match_line + 1}" if self.match_line is not None
                                             else " (no match)")
        shown = (" · wrapped" if self.wrap else "") + (" · times (UTC)" if self.show_times else "")
        raw_key = key_of("toggle_raw", Scope.LOG)
        shown += " · ::progress lines shown" if self.raw else f" · ::progress lines hidden ({raw_key} shows)"
        lines = "1 line" if self.total == 1 else f"{self.total} lines"
        return f"{lines} · {mode}{found}{shown}"

    # -- drawing ------------------------------------------------------------------------

    def line_where(self, y: int) -> tuple[int, int] | None:
        """(segment, byte offset) where line `y` starts in the log's files; None for the ledger's
        tail and the gap line."""
        for kind, part, n in self._layout:
            if y < n:
                if kind != "part":
                    return None
                assert isinstance(part, Part)
                return part.seg, part.starts[y if self.raw else part.shown_at(y)]
            y -= n
        return None

    def line_text(self, y: int) -> str | None:
        for kind, part, n in self._layout:
            if y < n:
                if kind == "memory":
                    assert self.memory is not None
                    return (self.memory if self.raw else self._memory_shown)[y]
                if kind == "gap":
                    return "… earlier output dropped (the log keeps its head and its latest tail) …"
                assert isinstance(part, Part)
                return part.read(y if self.raw else part.shown_at(y))
            y -= n
        return None

    def _styled(self, index: int) -> Text | None:
        raw = self.line_text(index)
        if raw is None:
            return None
        text = Text(clean_line(raw), no_wrap=True, end="")
        if self.search:
            for m in re.finditer(re.escape(self.search), text.plain, re.IGNORECASE):
                text.stylize("reverse", m.start(), m.end())
        if index == self.match_line:
            text.stylize(Style(bgcolor="grey30"))
        if self.show_times:
            where = self.line_where(index)
            ms = self.times.at(*where) if where is not None else None
            stamp = datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S") if ms is not None else "--:--:--"
            text = Text.assemble((stamp + " ", "dim"), text, no_wrap=True, end="")
        return text

    def _strip(self, text: Text, width: int) -> Strip:
        strip = Strip(list(text.render(self.app.console))).crop(0, width)
        return strip.extend_cell_length(width, self.rich_style) if strip.cell_length < width else strip

    def _wrapped(self, index: int, width: int) -> list[Strip]:
        """Line `index` as the rows it takes when wrapped at `width` (at least one)."""
        text = self._styled(index)
        if text is None:
            return []
        text.no_wrap = False
        lines = text.wrap(self.app.console, max(1, width), overflow="fold") if text.plain else [text]
        for line in lines:
            line.end = ""
        return [self._strip(line, width) for line in lines] or [Strip.blank(width, self.rich_style)]

    def render_line(self, y: int) -> Strip:
        width = self._width()
        if self.wrap:
            rows = self._frame_rows()
            return rows[y] if y < len(rows) else Strip.blank(width, self.rich_style)
        text = self._styled(y + int(self.scroll_offset.y))
        if text is None:
            return Strip.blank(width, self.rich_style)
        return self._strip(text, width)

    def _frame_rows(self) -> list[Strip]:
        """Wrapped: the screen's rows, from the top line down (made once per frame)."""
        top, width, height = int(self.scroll_offset.y), self._width(), self.size.height
        key = (top, width, height, self._stamp, self.search, self.match_line)
        if self._frame is not None and self._frame[0] == key:
            return self._frame[1]
        rows: list[Strip] = []
        index, whole = top, 0
        while len(rows) < height and index < self.total:
            rows += self._wrapped(index, width)
            index += 1
            whole += len(rows) <= height
        self._frame = (key, rows[:height])
        self._whole_lines = whole
        return self._frame[1]

    # -- keys ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.following = not self.following
        if self.following:
            self._to_end()
        self.post_message(self.Status(self.status_text()))

    def action_follow_end(self) -> None:
        self.following = True
        self._to_end()
        self.post_message(self.Status(self.status_text()))

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        top = int(self.scroll_offset.y)
        self._relayout()
        if not self.following:
            self.scroll_to(y=top, animate=False, immediate=True)  # the same line stays on top

    def action_toggle_times(self) -> None:
        if not self.show_times and not self.times.known:
            self.app.notify("no times for this log: it was not written by this version's supervisor here",
                            severity="warning", timeout=4)
            return
        self.show_times = not self.show_times
        self._stamp += 1
        self.refresh()
        if self.wrap and self.following:
            self._to_end()
        self.post_message(self.Status(self.status_text()))

    def action_toggle_raw(self) -> None:
        """Show or hide the control lines; paused, the line on top stays on top (or the next
        one shown, when it was a control line now hidden)."""
        where = self.line_where(int(self.scroll_offset.y)) if not self.following else None
        self.raw = not self.raw
        self.match_line = None
        self._relayout()
        if where is not None:
            self.scroll_to(y=self._line_at(*where), animate=False, immediate=True, force=True)

    def _line_at(self, seg: int, offset: int) -> int:
        """The view's line number of the first line shown at or after `offset` in segment `seg`."""
        y = 0
        for kind, part, n in self._layout:
            if kind == "part" and isinstance(part, Part) and part.seg == seg:
                raw_i = bisect_left(part.starts, offset)
                return y + (raw_i if self.raw else bisect_left(part.shown, raw_i))
            y += n
        return 0

    def action_save(self) -> None:
        lines = None if self.memory is None else list(self.memory)
        run_dir, name = self.run_dir, self.save_as
        self.run_worker(lambda: save_and_say(self.app, run_dir, lines, name), thread=True, group="log-save",
                        exclusive=True, exit_on_error=False)

    def action_scroll_up(self) -> None:
        self.following = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.following = False
        if not self.wrap:
            super().action_page_up()
            return
        top = top_for_page_up(int(self.scroll_offset.y), self.size.height, self._rows_of)
        self.scroll_to(y=top, animate=False, immediate=True, force=True)

    def action_page_down(self) -> None:
        if not self.wrap:
            super().action_page_down()
            return
        self._frame_rows()  # the next page starts at the first line not shown whole
        top = top_for_page_down(int(self.scroll_offset.y), self._whole_lines, self.total)
        self.scroll_to(y=top, animate=False, immediate=True, force=True)

    def action_scroll_home(self) -> None:
        self.following = False
        super().action_scroll_home()

    def find(self, text: str, forward: bool = True) -> None:
        self.search = text
        if text:
            self.following = False
            self.run_worker(lambda: self._find(text, forward), thread=True, group="log-search",
                            exclusive=True, exit_on_error=False)
        else:
            self.match_line = None
            self.refresh()
            self.post_message(self.Status(self.status_text()))

    def action_search_next(self) -> None:
        if self.search:
            self.find(self.search, True)

    def action_search_prev(self) -> None:
        if self.search:
            self.find(self.search, False)

    def _find(self, needle: str, forward: bool) -> None:
        needle_cf = needle.casefold()
        start = self.match_line if self.match_line is not None else (
            int(self.scroll_offset.y) - 1 if forward else int(self.scroll_offset.y) + self.size.height)
        order = range(start + 1, self.total) if forward else range(start - 1, -1, -1)
        found = None
        for y in order:
            line = self.line_text(y)
            if line is not None and needle_cf in line.casefold():
                found = y
                break
        self.app.call_from_thread(self._found, found)

    def _found(self, line: int | None) -> None:
        if line is not None:
            self.match_line = line
            self.scroll_to(y=max(0, line - self.size.height // 2), animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Status(self.status_text() if line is not None else f"/{self.search}: no more matches"))

    def on_resize(self) -> None:
        self._size_to_content()
        if self.following:
            self.call_after_refresh(self._to_end)

    def on_mount(self) -> None:
        if self.initial is not None:
            self.show_run(*self.initial)

    def on_unmount(self) -> None:
        for part in self.parts:
            part.close()


__all__ = ["LogView", "Segment", "log_files"]
