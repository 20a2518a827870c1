"""The Typer application, the global `--db` option, the settings, and error handling shared by commands.

The settings (settings.py: state directory, ledger URL, host, theme, from flags, the
environment and the config file) are built once, in the callback that runs before every
command, and commands take what they need from `settings()` and pass it down.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import peewee as pw
import typer
from rich.console import Console

from ..ledger import Ledger, LedgerError
from ..ledger.db import damage_hint, redact
from ..ledger.openclaw import open_any
from ..safetext import visible
from ..settings import Settings, SettingsError
from .json_text import indented

app = typer.Typer(
    name="openclaw-board",
    help="A ledger, a supervisor and a live terminal board for detached background work.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
flows_app = typer.Typer(help="Flows: parent records of related tasks.", no_args_is_help=True)
tasks_app = typer.Typer(help="Tasks: one detached run each, every attempt a row.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
app.add_typer(tasks_app, name="tasks")

# Text from tasks and specs is never interpreted as markup: markup=False on both consoles,
# and `escape()` wherever a Rich renderable would otherwise parse it.
out = Console(highlight=False, markup=False, emoji=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


class State:
    db_urls: tuple[str, ...] = ()
    settings: Settings | None = None

    @property
    def db_url(self) -> str | None:
        return self.db_urls[0] if self.db_urls else None


state = State()


@app.callback()
def _global(
    db: list[str] | None = typer.Option(
        None, "--db", metavar="URL",
        help="Ledger: sqlite:///path, a path, postgresql://..., or openclaw:///path "
        "(an OpenClaw install's ledger, read-only; openclaw:// for its default place) "
        "(default: $OPENCLAW_BOARD_DB, else the state directory's ledger.db). "
        "`board` takes it twice to watch two ledgers side by side.",
    ),
) -> None:
    state.db_urls = tuple(db or ())
    try:
        state.settings = Settings.load(db=state.db_url)
    except SettingsError as exc:
        fail(str(exc))
    # A relative OPENCLAW_BOARD_HOME is taken from where we were started, once, for good,
    # and the processes we start (a served board's) are told the same place.
    state.settings.pin_home()


def settings() -> Settings:
    """The settings the callback built (loaded here when a command runs without it)."""
    if state.settings is None:
        state.settings = Settings.load(db=state.db_url)
    return state.settings


def ledger_urls() -> tuple[str, ...]:
    """Every --db given (the board shows them side by side), else the settings' ledger."""
    return state.db_urls or (settings().db_url,)


def ledger_url() -> str:
    return state.db_url or settings().db_url


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr that starts with `error:`, then exit. It may quote a label or a
    goal: their control characters are shown, never sent (`safetext.visible`)."""
    line = visible(" ".join(str(message).split()))
    # Plain write, not Rich: the line must never wrap into two, whatever the terminal width.
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(indented(data) + "\n")


def print_json_list(key: str, count: int, items: Iterable[dict[str, Any]]) -> None:
    """`{"count": N, key: [...]}` written item by item, byte for byte what print_json writes,
    so that a list of 100,000 rows never sits in memory whole."""
    write = sys.stdout.write
    write(f'{{\n  "count": {count},\n  {json.dumps(key)}: [')
    first = True
    for item in items:
        write(("\n    " if first else ",\n    ") + indented(item, "    "))
        first = False
    write("]\n}\n" if first else "\n  ]\n}\n")


@contextmanager
def open_ledger(*, create: bool = True, readonly: bool = False) -> Iterator[Ledger]:
    if len(state.db_urls) > 1:
        fail("--db can be given more than once only for `board` (side by side)", 2)
    try:
        ledger = open_any(ledger_url(), create=create, readonly=readonly)
    except LedgerError as exc:
        fail(str(exc))
    except pw.DatabaseError as exc:
        fail(f"ledger {redact(ledger_url())} cannot be used: {exc}")
    try:
        yield ledger
    except LedgerError as exc:
        fail(str(exc))
    except pw.DatabaseError as exc:
        fail(f"ledger {ledger.display_url}: {damage_hint(exc)}")
    finally:
        ledger.close()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # `openclaw-board tasks list | head`: the reader left, that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - a traceback must never reach the user
        first = visible((str(exc).strip().splitlines() or [""])[0])
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {first}\n")
        sys.exit(1)
