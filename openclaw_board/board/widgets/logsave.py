"""Saving a task's log from the board: `<state dir>/logs/<task>-<attempt>.log`, 0600.

What is saved is the log as kept (head, a line saying what was dropped, the tail), made
safe the way `tasks logs` makes it for a terminal (`safetext.log_text`): a saved log is
read with `cat` or `less`, so its escape sequences must not reach the terminal either.
Runs on a worker thread: a log may be tens of megabytes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...ledger import LedgerError
from ...ledger.db import ensure_private_dir, state_dir
from ...safetext import log_text
from ...supervisor.logs import read_log
from ..pictures.files import write_private

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def log_file_name(label: str, task_id: str, attempt: int) -> str:
    """`fetch-globex-1a2b3c4d-2`: the label for people, the id so two flows' `fetch` differ.
    Anything but letters, digits, `.`, `_` and `-` becomes `_` (a label may hold `/`)."""
    safe = _UNSAFE.sub("_", label).strip("._")[:60] or "task"
    return f"{safe}-{task_id[:8]}-{attempt}"


def save_log(run_dir: str | None, lines: list[str] | None, name: str, directory: Path | None = None) -> Path:
    """Write the log (`lines` when it is only the ledger's tail) and return where."""
    if lines is not None:
        text = log_text("\n".join(lines) + "\n")
    elif run_dir:
        text = log_text(read_log(run_dir).decode("utf-8", errors="replace"))
    else:
        text = ""
    where = ensure_private_dir(directory or state_dir() / "logs", "logs directory")
    path = where / f"{name}.log"
    write_private(path, text.encode("utf-8"))
    return path


def save_and_say(app: Any, run_dir: str | None, lines: list[str] | None, name: str) -> None:
    """`save_log` on a worker thread, then a toast on the app's: where, or why not."""
    try:
        path = save_log(run_dir, lines, name)
    except (OSError, LedgerError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        app.call_from_thread(app.notify, f"log not saved: {why}", severity="error", timeout=8)
    else:
        app.call_from_thread(app.notify, f"log saved: {path}", timeout=6)
