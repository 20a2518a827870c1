"""The command's output, as the wrapper copies it: the capped log, when it came, and the `::` control lines.

Split from wrapper.py and, like it, stdlib-only and light to import (the wrapper imports it
once per task). `Sink` writes the log in the layout logs.py reads; `Times` notes when output
arrived (the board's log view shows it per line); `Control` finds `::progress PCT [TEXT]`,
`::summary TEXT` and `::blocked REASON` lines in the stream.
"""

import posix as os  # what `os` wraps on Linux, without its import cost

LOG_FILE = "output.log"  # the head; tail segments are output.log.1, output.log.2, ...
TIMES_FILE = "output.times"  # `SEG OFFSET MS` lines: output from there on came at MS (epoch ms)
MAX_TIMES_BYTES = 4 << 20  # about two days of output every second; then `- SEG OFFSET`: no times past it
MAX_CONTROL_LINE = 4096
MAX_TEXT = 500


def clean_text(raw: "bytes | str", limit: int = MAX_TEXT) -> str:
    """One safe line: UTF-8 with replacement, control characters dropped, length capped."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = "".join(ch for ch in text if ch >= " " and ch != "\x7f" and not "\x80" <= ch <= "\x9f")
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Sink:
    """Head file up to head_cap bytes, then tail segments of tail_cap bytes; keeps the last two.

    A write the disk refuses (full, quota) loses those bytes, never the run: they are
    counted in `lost` (with the first reason in `error`) and later output is tried again.
    Only bytes really written count against a file's cap, so the layout stays exact
    (logs.py computes what was dropped from the sizes of the files)."""

    def __init__(self, base: str, head_cap: int, tail_cap: int) -> None:
        self.base = base  # the head file's path (`<run dir>/output.log`)
        self.head_cap, self.tail_cap = max(0, head_cap), max(1, tail_cap)
        self.total = 0  # bytes the command wrote
        self.kept = 0  # of which on disk (the rest was refused: total - kept are lost)
        self.error: str | None = None
        self.seg = 0  # 0 is the head file
        self.room = self.head_cap
        self.fd: int | None = None
        try:
            self.fd = self._open(self.base)
        except OSError:
            pass  # tried again on the first write

    @staticmethod
    def _open(path: str) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    @property
    def lost(self) -> int:
        return self.total - self.kept

    def position(self) -> "tuple[int, int]":
        """(segment, offset in it) where the next byte written goes."""
        if self.room == 0:
            return self.seg + 1, 0
        return self.seg, (self.head_cap if self.seg == 0 else self.tail_cap) - self.room

    def write(self, data: bytes) -> None:
        self.total += len(data)
        try:
            self._write(data)
        except OSError as exc:
            if self.error is None:
                self.error = exc.strerror or str(exc)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.room == 0:
                if self.fd is not None:
                    os.close(self.fd)
                    self.fd = None
                self.seg += 1
                self.room = self.tail_cap
                if self.seg >= 3:
                    try:
                        os.unlink(f"{self.base}.{self.seg - 2}")
                    except OSError:
                        pass
            if self.fd is None:
                self.fd = self._open(f"{self.base}.{self.seg}" if self.seg else self.base)
            n = os.write(self.fd, view[:min(self.room, len(view))])
            if n <= 0:
                raise OSError(28, "No space left on device")
            self.room -= n
            self.kept += n
            view = view[n:]


class Times:
    """When output arrived, at one-second grain: the first chunk of each new second appends
    `SEG OFFSET MS` (where it starts in the log's files, and when it came). At most one line a
    second, and MAX_TIMES_BYTES in all; past that a last `- SEG OFFSET` says the times stop
    there. Best effort: a write the disk refuses is a time lost, never the run."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.second: int | None = None
        self.written = 0
        self.full = False

    def note(self, where: "tuple[int, int]", now_s: float) -> None:
        second = int(now_s)
        if self.full or second == self.second:
            return
        self.second = second
        line = f"{where[0]} {where[1]} {int(now_s * 1000)}\n"
        if self.written + len(line) + 32 > MAX_TIMES_BYTES:
            line, self.full = f"- {where[0]} {where[1]}\n", True
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self.written += os.write(self.fd, line.encode())
        except OSError:
            pass


class Control:
    """Scans output for `::` lines at the start of a line, chunk boundaries included."""

    def __init__(self) -> None:
        self.at_line_start = True
        self.partial: bytearray | None = None  # a `::` candidate line not yet ended
        self.progress: float | None = None
        self.summary: str | None = None
        self.blocked: str | None = None
        self.dirty = False

    def feed(self, chunk: bytes) -> None:
        pos, n = 0, len(chunk)
        while pos < n:
            if self.partial is not None:
                nl = chunk.find(b"\n", pos)
                end = n if nl < 0 else nl
                if len(self.partial) < MAX_CONTROL_LINE:
                    self.partial += chunk[pos:min(end, pos + MAX_CONTROL_LINE)]
                if nl < 0:
                    return
                line, self.partial = bytes(self.partial), None
                self._line(line)
                pos, self.at_line_start = nl + 1, True
                continue
            if not self.at_line_start:
                nl = chunk.find(b"\n", pos)
                if nl < 0:
                    return
                pos, self.at_line_start = nl + 1, True
                continue
            # At a line start: a `::` line? (A lone ':' at the chunk's end may become one.)
            if chunk.startswith(b"::", pos) or chunk[pos:] == b":":
                self.partial = bytearray()
                continue
            nxt = chunk.find(b"\n::", pos)
            if nxt >= 0:
                pos = nxt + 1
                continue
            nl = chunk.rfind(b"\n", pos)
            if nl < 0:
                self.at_line_start = False
                return
            pos = nl + 1  # the last line of the chunk starts here

    def _line(self, raw: bytes) -> None:
        if not raw.startswith(b"::"):
            return
        word, _, rest = raw[2:].rstrip(b"\r").partition(b" ")
        if word == b"progress":
            pct, _, text = rest.strip().partition(b" ")
            try:
                value = float(pct.rstrip(b"%"))
            except ValueError:
                return
            if value != value:  # NaN
                return
            self.progress = max(0.0, min(100.0, value))
            if text.strip():
                self.summary = clean_text(text)
        elif word == b"summary":
            self.summary = clean_text(rest)
        elif word == b"blocked":
            self.blocked = clean_text(rest) or "blocked"
        else:
            return
        self.dirty = True

    def values(self, total: int) -> dict:
        return {"progress": self.progress, "summary": self.summary, "blocked": self.blocked, "bytes": total}
