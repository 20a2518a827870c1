"""`board`, `demo`, `screenshot`, `serve`: the Textual board."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer

from ..ledger.openclaw import is_openclaw
from ..settings import Settings
from .app import app, err, fail, ledger_urls, open_ledger, out, settings, state
from .render import count_of

DEMO_CONCURRENCY = 8


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        fail(f"--size {text!r}: use WIDTHxHEIGHT, e.g. 120x36", 2)
    if not (20 <= w <= 500 and 8 <= h <= 300):
        fail(f"--size {text!r}: width 20-500, height 8-300", 2)
    return w, h


def _theme(flag: str | None) -> Settings:
    """The settings with a command's --theme; an unknown theme, wherever it was named, is
    refused before the screen is taken over (one `error:` line)."""
    from ..board.theme.theme_files import load_themes

    chosen = settings().with_theme(flag)
    if chosen.theme is not None:
        theme_set = load_themes()
        if chosen.theme not in theme_set.themes:
            fail(f"unknown theme {chosen.theme!r} (from {chosen.theme_origin}); "
                 f"available: {', '.join(theme_set.names)}")
    return chosen


def _left_running(count: int | None) -> None:
    if count:
        out.print(f"left {count_of(count, 'task')} running, detached: the next supervisor re-attaches them "
                  "(openclaw-board supervise, or the board)")


@app.command()
def board(
    no_supervise: bool = typer.Option(False, "--no-supervise", help="Do not run queued work from this board."),
    readonly: bool = typer.Option(False, "--readonly", help="Look only: hide and refuse every action "
                                  "(implies --no-supervise)."),
    theme: str | None = typer.Option(None, "--theme", metavar="NAME", help="A theme by name "
                                     "(default: $OPENCLAW_BOARD_THEME, else the last one chosen)."),
) -> None:
    """The live board: flows and tasks; inspect, cancel, retry, approve, reopen."""
    from ..board import BoardApp

    urls = ledger_urls()
    for one in urls:
        # A missing, unsafe or unreadable ledger is one `error:` line, before the screen.
        state.db_urls = (one,)
        with open_ledger(create=not readonly, readonly=readonly):
            pass
    state.db_urls = urls
    conf = _theme(theme)
    # An OpenClaw ledger's runs belong to its gateway: never run them from here. Side by
    # side, the embedded supervisor runs the work of our own ledger (the first one given).
    ours = [u for u in urls if not is_openclaw(u)]
    supervise = not (no_supervise or readonly or not ours)
    factory = None
    if supervise:
        from ..supervisor import Supervisor

        def factory() -> Supervisor:
            return Supervisor(ours[0], mode="embedded", settings=conf)

    target = urls[0] if len(urls) == 1 else urls
    board_app = BoardApp(target, supervise=supervise, readonly=readonly, theme=conf.theme,
                         supervisor_factory=factory)
    _left_running(board_app.run())


def _demo_ledger() -> tuple[str, Path]:
    from ..board.demo_data import submit_demo
    from ..ledger import Ledger
    from ..ledger.db import ensure_private_dir

    where = ensure_private_dir(settings().state_dir / "demo" / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}"))
    url = f"sqlite:///{where / 'ledger.db'}"
    with Ledger(url) as ledger:
        submit_demo(ledger, where / "work")
    return url, where


def _cancel_everything(url: str) -> None:
    from ..ledger import Ledger, LedgerError

    with Ledger(url) as ledger:
        for flow in ledger.list_flows():
            try:
                ledger.cancel_flow(flow.flow_id, actor="demo")
            except LedgerError:
                pass  # already finished


@app.command()
def demo(
    headless: bool = typer.Option(False, "--headless", help="No terminal: render and exit (with --screenshot)."),
    screenshot: Path | None = typer.Option(None, "--screenshot", metavar="PATH", help="Save an SVG of the board."),
    settle: float = typer.Option(4.0, "--settle", metavar="SECONDS", help="With --headless: run this long first."),
    size: str = typer.Option("120x36", "--size", metavar="WxH", help="With --headless: the screen size."),
    no_supervise: bool = typer.Option(False, "--no-supervise", help="Only submit; run nothing."),
    theme: str | None = typer.Option(None, "--theme", metavar="NAME", help="A theme by name."),
) -> None:
    """A fresh demo ledger with realistic work, run live on the board."""
    import asyncio  # here, not at the top: 0.15 s of start-up that every other command would pay

    from ..board import BoardApp
    from ..supervisor import Supervisor

    if headless and screenshot is None:
        fail("--headless needs --screenshot PATH (there is nothing else to show)", 2)
    width, height = _size(size)
    conf = _theme(theme)
    url, where = _demo_ledger()
    err.print(f"demo ledger: {where / 'ledger.db'}")
    err.print(f"  (look at it with: openclaw-board --db {where / 'ledger.db'} board)")

    def factory() -> Supervisor:
        return Supervisor(url, mode="embedded", concurrency=DEMO_CONCURRENCY, settings=conf)

    board_app = BoardApp(url, supervise=not no_supervise, theme=conf.theme, title="demo",
                         supervisor_factory=factory)
    if not headless:
        _left_running(board_app.run())
        return

    async def auto(pilot) -> None:  # noqa: ANN001 - Textual's Pilot
        from textual.pilot import WaitForScreenTimeout

        await board_app.settled()
        await asyncio.sleep(max(0.0, settle))
        await board_app.settled()
        try:
            await pilot.pause()
        except WaitForScreenTimeout:
            pass  # a machine too busy to go idle in time: the picture is what is drawn by now
        assert screenshot is not None
        screenshot.write_text(board_app.export_screenshot(title="openclaw-board demo"), encoding="utf-8")
        # Nobody is watching: stop the demo's work rather than leave it running detached.
        await asyncio.to_thread(_cancel_everything, url)
        for _ in range(100):
            sup = board_app.supervisor
            if sup is None or sup.running_count() == 0:
                break
            await asyncio.sleep(0.1)
        board_app.exit(board_app.shutdown())

    left = board_app.run(headless=True, size=(width, height), auto_pilot=auto)
    out.print(f"screenshot: {screenshot}")
    _left_running(left)
