"""Where things are: the host name a supervisor records, and a task's run directory.

Both are needed by the supervisor (which writes runs) and by the CLI (which reads their
logs); they live here, below both, so that neither reaches into the other for them. The
values that callers configure (the state directory, `OPENCLAW_BOARD_HOST`) come from
`settings.Settings`; this module reads no environment.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any


def default_host(configured: str | None = None) -> str:
    """The host name a supervisor records: the configured one (settings: `--host`-like flags,
    `OPENCLAW_BOARD_HOST`, the config file), else the machine's own."""
    return configured or socket.gethostname()


def runs_root(state: Path) -> Path:
    """`<state dir>/runs`: one directory per run started on this host."""
    return state / "runs"


def run_dir_of(task: Any, state: Path | None = None) -> Path:
    """Where a task's files are: its recorded run_dir, else `<state>/runs/<task_id>`
    (`state` defaults to the ledger's default state directory)."""
    if getattr(task, "run_dir", None):
        return Path(task.run_dir)
    if state is None:
        from .ledger.db import state_dir

        state = state_dir()
    return runs_root(state) / str(task.task_id)
