"""Reading a task's output log: whole (head + tail when capped), the latest bytes, or following it.

Layout (written by `wrapper.Sink`, in the task's run directory `<state>/runs/<task_id>/`):

- `output.log` holds the first `head_cap` bytes of the output (stdout and stderr merged);
- after that, output goes to tail segments `output.log.1`, `output.log.2`, ... of exactly
  `tail_cap` bytes each (the last one is still filling). Only the last two segments are
  kept, so the disk use of a task is at most head_cap + 2 * tail_cap.

Beside them, `output.times` notes when output came (`capture.Times`: `SEG OFFSET MS` at the
first output of each second), for the board's log view to put a time before each line.

So the bytes before segment k number `head_cap + (k - 1) * tail_cap`, and a reader can
say exactly how many bytes were dropped between the head and the kept tail.
`read_log` returns head + `[... N bytes omitted ...]` + the last `tail_cap` bytes; `follow`
yields new bytes as they arrive and the same marker when it fell behind a deleted segment.

Bytes are returned as written (possibly not UTF-8): decode with errors="replace" to show them.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..paths import run_dir_of
from ..safetext import LogStream
from .wrapper import LOG_FILE

_SEGMENT = re.compile(re.escape(LOG_FILE) + r"\.(\d+)$")


def log_path(run_dir: str | Path) -> Path:
    """The head file (`output.log`); tail segments sit next to it as `output.log.N`."""
    return Path(run_dir) / LOG_FILE


def segments(run_dir: str | Path) -> list[int]:
    """Numbers of the tail segments that exist now, ascending."""
    try:
        names = os.listdir(run_dir)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(_SEGMENT.match, names) if m)


def omitted_marker(n: int | None) -> bytes:
    what = f"{n} bytes" if n is not None else "some bytes"
    return f"\n[... {what} omitted ...]\n".encode()


def _read(path: Path, offset: int = 0, limit: int = -1) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(limit)
    except OSError:
        return b""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def total_bytes(run_dir: str | Path) -> int:
    """How many bytes the task has written so far (head + dropped + kept tail)."""
    base = log_path(run_dir)
    segs = segments(run_dir)
    if not segs:
        return _size(base)
    last = segs[-1]
    seg_size = _size(Path(f"{base}.{segs[-2]}")) if len(segs) > 1 else 0
    return _size(base) + (last - 1) * seg_size + _size(Path(f"{base}.{last}"))


def read_log(run_dir: str | Path, tail_cap: int | None = None) -> bytes:
    """The whole log as kept: head, then `[... N bytes omitted ...]` and the tail when capped.

    `tail_cap` limits the tail shown (default: the segment size, i.e. the configured cap).
    """
    base = log_path(run_dir)
    head = _read(base)
    segs = segments(run_dir)
    if not segs:
        return head
    kept = b"".join(_read(Path(f"{base}.{n}")) for n in segs[-2:])
    seg_size = _size(Path(f"{base}.{segs[-2]}")) if len(segs) > 1 else len(kept)
    cap = tail_cap or seg_size or len(kept)
    tail = kept[-cap:] if cap < len(kept) else kept
    total = total_bytes(run_dir)
    omitted = total - len(head) - len(tail)
    return head + (omitted_marker(omitted) if omitted > 0 else b"") + tail


def read_tail(run_dir: str | Path, n: int = 4096) -> bytes:
    """The last `n` bytes written (at most), cheaply: for `task.log_tail` and previews."""
    base = log_path(run_dir)
    segs = segments(run_dir)
    files = [Path(f"{base}.{k}") for k in segs[-2:]] if segs else [base]
    out = b""
    for path in reversed(files):
        size = _size(path)
        take = min(size, n - len(out))
        out = _read(path, size - take, take) + out
        if len(out) >= n:
            break
    return out


class LogCursor:
    """Where a reader is in the log; `read_new()` returns what was written since."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.seg = 0  # 0: the head file
        self.offset = 0

    def _path(self, seg: int) -> Path:
        base = log_path(self.run_dir)
        return base if seg == 0 else Path(f"{base}.{seg}")

    def read_new(self, limit: int = 1 << 20) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = _read(self._path(self.seg), self.offset, limit - len(out))
            if chunk:
                out += chunk
                self.offset += len(chunk)
                continue
            segs = segments(self.run_dir)
            later = [k for k in segs if k > self.seg]
            if not later:
                break
            nxt = later[0]
            if nxt != self.seg + 1 or (self.seg > 0 and self.seg not in segs):
                # The writer deleted segments we had not read yet: say how much was skipped.
                out += omitted_marker(self._skipped(nxt, segs))
            self.seg, self.offset = nxt, 0
        return bytes(out)

    def _skipped(self, nxt: int, segs: list[int]) -> int | None:
        head = _size(self._path(0))
        full = [k for k in segs if k < segs[-1]]
        if not full:
            return None
        seg_size = _size(self._path(full[0]))
        read_upto = head + (self.seg - 1) * seg_size + self.offset if self.seg else self.offset
        return max(0, head + (nxt - 1) * seg_size - read_upto)


def follow(run_dir: str | Path, *, done: Callable[[], bool], interval_s: float = 0.25,
           from_start: bool = True) -> Iterator[bytes]:
    """Yield new output until `done()` is true and everything written has been yielded.

    `done` is usually "the task is terminal" (ask the ledger) or "the exit file exists".
    With from_start=False it starts at the current end (like `tail -f` without history).
    """
    cursor = LogCursor(run_dir)
    if not from_start:
        while cursor.read_new():
            pass
    while True:
        finished = done()
        chunk = cursor.read_new()
        if chunk:
            yield chunk
            continue
        if finished:
            return
        time.sleep(interval_s)


def for_terminal(chunks: Iterable[bytes], encoding: str = "utf-8") -> Iterator[bytes]:
    """The log as a terminal may receive it (`safetext.LogStream`): escape sequences removed,
    every other control (C1 and bytes that are not UTF-8 included) shown as text. A pipe gets
    the bytes as written instead; this is only for a human's screen."""
    stream = LogStream()
    for chunk in chunks:
        text = stream.feed(chunk)
        if text:
            yield text.encode(encoding, "backslashreplace")
    rest = stream.flush()
    if rest:
        yield rest.encode(encoding, "backslashreplace")


# -- a task's log wherever it ran ----------------------------------------------------------

@dataclass(frozen=True)
class LogView:
    """What `read_log_anywhere` found: the bytes to show, where they came from, and a note
    for the reader when they are not the whole local log."""

    data: bytes
    source: str  # "file" | "ledger" | "none"
    note: str | None = None


def read_log_anywhere(ledger: Any, task: Any, *, host: str, state: Path | None = None) -> LogView:
    """The local log file when the task ran on this host and its run directory is here;
    else the tail the owning supervisor keeps in the ledger (`task.log_tail`, at most
    LOG_TAIL_MAX characters, refreshed every few seconds while it runs and at its end).
    `host` is ours (settings.host), `state` our state directory."""
    run_dir = run_dir_of(task, state)
    ran_here = task.host is None or task.host == host
    if ran_here and run_dir.is_dir():
        return LogView(read_log(run_dir), "file")
    fresh = ledger.get_task(task.task_id) if ledger is not None else task
    tail = fresh.log_tail
    where = f"host {fresh.host}" if fresh.host else "another host"
    if not tail:
        note = (f"no output recorded yet; the full log is on {where}" if fresh.host and not ran_here
                else "no output recorded")
        return LogView(b"", "none", note)
    return LogView(tail.encode("utf-8"), "ledger",
                   f"the last {len(tail)} characters of output, from the ledger; the full log is on {where}")
