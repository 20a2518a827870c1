"""The `openclaw-board` command line: thin Typer commands that parse, call the ledger, render.

Commands live in modules by subject and register themselves on `app` when imported:
`ledger_cmds` (submit, flows, tasks, audit, maintenance), `supervise_cmd` (supervise),
`board_cmds` (board, demo), `capture_cmds` (screenshot, serve). Errors: exit 1 with one `error:` line on
stderr for a refused operation, exit 2 for bad usage (Typer/Click's own convention).
"""

from __future__ import annotations

from . import board_cmds, capture_cmds, follow_cmds, ledger_cmds, supervise_cmd  # noqa: E402,F401  (registration)
from .app import app, main  # noqa: F401

__all__ = ["app", "main"]
