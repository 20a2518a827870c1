"""A task's log, drawn a line at a time (Textual's line API) so a 100 MB log opens at once.

The files are indexed (newline offsets) in a worker thread, a chunk at a time, and only
the lines on screen are read (`os.pread`) and drawn. While following, new output is
indexed as it arrives and the view stays at the end; `p` pauses, `/` searches.
The supervisor keeps a head file and the last tail segments (`output.log`,
`output.log.N`); a line marks where the middle was dropped.
"""

from __future__ import annotations

import os
import re
import threading
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...supervisor.logs import log_path, segments
from ..bindings import bindings
from ..view.keys import Scope
from ..view.text import clean_line

CHUNK = 1 << 20
MAX_LINE_BYTES = 16 * 1024


def log_files(run_dir: str | Path | None) -> list[tuple[int, Path]]:
    """[(segment number, path)] in order: 0 is the head file (the supervisor's layout)."""
    if not run_dir:
        return []
    head = log_path(run_dir)
    found = [(0, head)] if head.exists() else []
    return found + [(n, Path(f"{head}.{n}")) for n in segments(run_dir)]


@dataclass
class Part:
    seg: int
    path: Path
    starts: array[int] = field(default_factory=lambda: array("q", [0]))
    end: int = 0  # bytes indexed so far
    fd: int | None = None

    @property
    def lines(self) -> int:
        return len(self.starts) if self.end > self.starts[-1] else len(self.starts) - 1

    def read(self, i: int) -> str:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                return ""
        start = self.starts[i]
        stop = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else self.end
        data = os.pread(self.fd, min(stop - start, MAX_LINE_BYTES), start)
        return data.decode("utf-8", errors="replace").rstrip("\r")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


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
        self.parts: list[Part] = []
        self.memory: list[str] | None = None  # lines shown when there is no file
        self.following = True
        self.search: str = ""
        self.match_line: int | None = None
        self._index_lock = threading.Lock()
        self._layout: list[tuple[str, object, int]] = []  # ("part", part, n) | ("gap", None, 1)
        self.total = 0

    # -- sources ------------------------------------------------------------------------

    def show_run(self, run_dir: str | None, fallback: str | None, host: str | None = None) -> None:
        """Follow the log files in `run_dir`; show `fallback` text (the ledger's tail) if none:
        a task that ran on another host has its full log there, and its tail in the ledger."""
        self.run_dir = run_dir
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
        self._relayout()

    def _start_index(self) -> None:
        if self._index_lock.locked():
            return  # the previous pass is still reading: never overlap
        self.run_worker(self._index, thread=True, group="log-index", exit_on_error=False)

    def _index(self) -> None:
        with self._index_lock:
            known = {p.seg: p for p in self.parts}
            parts = [known.get(seg) or Part(seg, path) for seg, path in log_files(self.run_dir)]
            changed = [p.seg for p in parts] != [p.seg for p in self.parts]
            for p in self.parts:
                if p not in parts:
                    p.close()
            self.parts = parts
            for part in parts:
                try:
                    size = part.path.stat().st_size
                except OSError:
                    continue
                if size < part.end:  # truncated or replaced: start again
                    part.starts, part.end, changed = array("q", [0]), 0, True
                    part.close()
                while part.end < size:
                    with open(part.path, "rb") as fh:
                        fh.seek(part.end)
                        data = fh.read(min(CHUNK, size - part.end))
                    if not data:
                        break
                    base = part.end
                    pos = data.find(b"\n")
                    while pos >= 0:
                        part.starts.append(base + pos + 1)
                        pos = data.find(b"\n", pos + 1)
                    part.end += len(data)
                    changed = True
                    if size - part.end > CHUNK:
                        self.app.call_from_thread(self._relayout)  # show what we have so far
            if changed:
                self.app.call_from_thread(self._relayout)

    def _relayout(self) -> None:
        layout: list[tuple[str, object, int]] = []
        if self.memory is not None:
            layout.append(("memory", None, len(self.memory)))
        else:
            prev = None
            for part in self.parts:
                if prev is not None and part.seg != prev + 1:
                    layout.append(("gap", None, 1))
                layout.append(("part", part, part.lines))
                prev = part.seg
        self._layout = layout
        self.total = sum(n for _, _, n in layout)
        self.virtual_size = Size(self.size.width, self.total)
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()
        self.post_message(self.Status(self.status_text()))

    def status_text(self) -> str:
        mode = "following" if self.following else "paused"
        found = ""
        if self.search:
            found = f" · /{self.search}" + (f" at line {self.match_line + 1}" if self.match_line is not None
                                             else " (no match)")
        return f"{self.total} lines · {mode}{found}"

    # -- drawing ------------------------------------------------------------------------

    def line_text(self, y: int) -> str | None:
        for kind, part, n in self._layout:
            if y < n:
                if kind == "memory":
                    assert self.memory is not None
                    return self.memory[y]
                if kind == "gap":
                    return "… earlier output dropped (the log keeps its head and its latest tail) …"
                assert isinstance(part, Part)
                return part.read(y)
            y -= n
        return None

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_offset.y)
        width = self.size.width
        raw = self.line_text(index)
        if raw is None:
            return Strip.blank(width, self.rich_style)
        text = Text(clean_line(raw), no_wrap=True, end="")
        if self.search:
            for m in re.finditer(re.escape(self.search), text.plain, re.IGNORECASE):
                text.stylize("reverse", m.start(), m.end())
        if index == self.match_line:
            text.stylize(Style(bgcolor="grey30"))
        segments = list(text.render(self.app.console))
        strip = Strip(segments).crop(0, width)
        return strip.extend_cell_length(width, self.rich_style) if strip.cell_length < width else strip

    # -- keys ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.following = not self.following
        if self.following:
            self.scroll_end(animate=False, immediate=True)
        self.post_message(self.Status(self.status_text()))

    def action_follow_end(self) -> None:
        self.following = True
        self.scroll_end(animate=False, immediate=True)
        self.post_message(self.Status(self.status_text()))

    def action_scroll_up(self) -> None:
        self.following = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.following = False
        super().action_page_up()

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
        self.virtual_size = Size(self.size.width, self.total)
        if self.following:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)

    def on_unmount(self) -> None:
        for part in self.parts:
            part.close()


__all__ = ["LogView", "Segment", "log_files"]
