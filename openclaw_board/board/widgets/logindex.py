"""A task's log files, indexed by line so that the log view reads only what it draws.

Each file (the head `output.log`, then the kept tail segments) is a `Part`: the byte offset
of every line start, found a chunk at a time on a worker thread, and which lines are
`::progress` / `::summary` control lines (the view hides those by default: the bar and the
summary say the same). A line is read with one `os.pread`, at most MAX_LINE_BYTES of it, so
a 100 MB log or a 1 GB line costs what the screen shows.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from ...supervisor.capture import TIMES_FILE
from ...supervisor.logs import log_path, segments

CHUNK = 1 << 20
MAX_LINE_BYTES = 16 * 1024
CONTROL_WORDS = (b"::progress", b"::summary")
_PREFIX = max(len(w) for w in CONTROL_WORDS) + 1


def is_control(head: bytes) -> bool:
    """Whether a line starting with `head` is a `::progress`/`::summary` line (the wrapper's
    rule: the word at the very start, then a space or the line's end)."""
    for word in CONTROL_WORDS:
        if head.startswith(word) and (len(head) == len(word) or head[len(word):len(word) + 1] in b" \r\n"):
            return True
    return False


def is_control_text(line: str) -> bool:
    return is_control(line[:_PREFIX].encode("utf-8", "replace"))


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
    # The complete lines that are not control lines (line numbers), and how many were sorted.
    shown: array[int] = field(default_factory=lambda: array("q"))
    sorted_lines: int = 0

    @property
    def lines(self) -> int:
        return len(self.starts) if self.end > self.starts[-1] else len(self.starts) - 1

    def shown_lines(self) -> int:
        """Lines left when control lines are hidden (an unfinished last line counts unless it
        already reads as one)."""
        partial = self.lines > len(self.starts) - 1 and not self.is_control_line(len(self.starts) - 1)
        return len(self.shown) + (1 if partial else 0)

    def shown_at(self, i: int) -> int:
        """The line number of the i-th line that is not a control line."""
        return self.shown[i] if i < len(self.shown) else len(self.starts) - 1

    def raw(self, i: int, limit: int = MAX_LINE_BYTES) -> bytes:
        if i >= len(self.starts):
            return b""  # the file was cut and is being indexed anew: drawn at the next layout
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                return b""
        start = self.starts[i]
        stop = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else self.end
        return os.pread(self.fd, max(0, min(stop - start, limit)), start)

    def read(self, i: int) -> str:
        return self.raw(i).decode("utf-8", errors="replace").rstrip("\r")

    def behind(self) -> bool:
        """More than a chunk still to index (the view then draws what it has so far)."""
        try:
            return self.path.stat().st_size - self.end > CHUNK
        except OSError:
            return False

    def is_control_line(self, i: int) -> bool:
        return is_control(self.raw(i, _PREFIX))

    def sort_lines(self, data: bytes = b"", base: int = 0) -> None:
        """Sort the complete lines indexed since the last call into shown / control, looking in
        `data` (the chunk just read, from offset `base`) before reading the file."""
        complete = len(self.starts) - 1
        for i in range(self.sorted_lines, complete):
            off = self.starts[i] - base
            head = data[off:off + _PREFIX] if 0 <= off and off + _PREFIX <= len(data) else self.raw(i, _PREFIX)
            if not is_control(head):
                self.shown.append(i)
        self.sorted_lines = max(self.sorted_lines, complete)

    def reset(self) -> None:
        self.starts, self.end, self.shown, self.sorted_lines = array("q", [0]), 0, array("q"), 0
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def index_more(part: Part) -> bool | None:
    """Index one more chunk of `part`; True if it grew, False if there was nothing new, None
    when the file was truncated or replaced (it starts again from the beginning)."""
    try:
        size = part.path.stat().st_size
    except OSError:
        return False
    if size < part.end:
        part.reset()
        return None
    if part.end >= size:
        return False
    with open(part.path, "rb") as fh:
        fh.seek(part.end)
        data = fh.read(min(CHUNK, size - part.end))
    if not data:
        return False
    base = part.end
    pos = data.find(b"\n")
    while pos >= 0:
        part.starts.append(base + pos + 1)
        pos = data.find(b"\n", pos + 1)
    part.end += len(data)
    part.sort_lines(data, base)
    return True


class LogTimes:
    """When the output came (the wrapper's `output.times`: `SEG OFFSET MS` lines, one a second
    at most, then maybe `- SEG OFFSET` where it stopped noting). Read as it grows."""

    def __init__(self, run_dir: str | Path | None) -> None:
        self.path = Path(run_dir) / TIMES_FILE if run_dir else None
        self.marks: list[tuple[int, int, int]] = []  # (seg, offset, ms), in order
        self.stop: tuple[int, int] | None = None  # no times from here on
        self._read = 0  # bytes parsed
        self._rest = b""

    @property
    def known(self) -> bool:
        return bool(self.marks)

    def refresh(self) -> None:
        if self.path is None or self.stop is not None:
            return
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._read)
                data = fh.read(1 << 20)
        except OSError:
            return
        self._read += len(data)
        *lines, self._rest = (self._rest + data).split(b"\n")
        for line in lines:
            parts = line.split()
            try:
                if len(parts) == 3 and parts[0] == b"-":
                    self.stop = (int(parts[1]), int(parts[2]))
                elif len(parts) == 3:
                    self.marks.append((int(parts[0]), int(parts[1]), int(parts[2])))
            except ValueError:
                continue  # a damaged line is a time lost, not the log

    def at(self, seg: int, offset: int) -> int | None:
        """When the byte at `offset` of segment `seg` came (ms), if known."""
        if self.stop is not None and (seg, offset) >= self.stop:
            return None
        i = bisect_right(self.marks, (seg, offset, 1 << 62)) - 1
        return self.marks[i][2] if i >= 0 else None
