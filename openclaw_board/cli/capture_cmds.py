"""`screenshot` and `serve`: the board as a picture (now, or as it was), and in a browser."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import typer

from ..ledger.command_text import command_line
from .app import app, err, fail, ledger_url, open_ledger
from .board_cmds import _size, _theme


@app.command()
def screenshot(
    output: Path = typer.Option(..., "-o", "--output", metavar="PATH",
                                help="Where to write: .svg, .html (a page embedding the SVG) or .png "
                                "(needs the optional cairosvg: pip install 'openclaw-board[png]')."),
    at: str | None = typer.Option(None, "--at", metavar="TIME", help="The board as it was then, rebuilt from "
                                  "the event log: ISO 8601 (UTC unless it says otherwise) or relative to now, "
                                  "e.g. -2h, -90m."),
    size: str = typer.Option("120x36", "--size", metavar="WxH", help="Screen size in cells."),
    theme: str | None = typer.Option(None, "--theme", metavar="NAME", help="A theme by name."),
    flow: str | None = typer.Option(None, "--flow", metavar="FLOW", help="Show only this flow (id or unique "
                                    "prefix), expanded to its tasks."),
) -> None:
    """The board rendered headless to a picture, as it is now or as it was at TIME.

    Deterministic: the same ledger gives the same bytes. "Now" is the time of the ledger's
    newest event (so that the picture does not depend on when it was taken); with --at,
    it is that moment.
    """
    from ..board.pictures.files import PictureError, picture_format, write_picture
    from ..board.pictures.svg import Shot, newest_event_ms, render_svg
    from ..ledger.clock import iso, parse_time, system_clock

    width, height = _size(size)
    try:
        picture_format(output)
    except PictureError as exc:
        fail(str(exc), 2 if output.suffix.lower() not in (".png",) else 1)
    if not output.parent.is_dir():
        fail(f"cannot write {output}: no directory {output.parent}")
    conf = _theme(theme)
    url = ledger_url()
    moment: int | None = None
    if at is not None:
        try:
            moment = parse_time(at, system_clock())
        except ValueError as exc:
            fail(f"--at: {exc}", 2)
    flow_id: str | None = None
    with open_ledger(create=False, readonly=True) as ledger:
        try:
            newest = newest_event_ms(ledger)
        except AttributeError:  # a ledger without our event table (OpenClaw's): draw at the wall clock
            newest = None
        if flow is not None:
            found = ledger.get_flow(flow)  # NotFound / Ambiguous: one `error:` line
            flow_id = found.flow_id
            if moment is not None and found.created_at > moment:
                fail(f"flow {flow_id[:8]} did not exist yet at {iso(moment)} (submitted {iso(found.created_at)})")
    clock_ms = moment if moment is not None else (newest if newest is not None else system_clock())
    shot = Shot(size=(width, height), clock_ms=clock_ms, at=moment, theme=conf.theme, flow_id=flow_id)
    svg = render_svg(url, shot)
    try:
        write_picture(svg, output)
    except PictureError as exc:
        fail(str(exc))
    # Plain write: a long path must not be wrapped into two lines by the console.
    sys.stdout.write(f"screenshot: {output}" + (f" (as of {iso(moment)})" if moment is not None else "") + "\n")


def served_command(url: str, *, no_supervise: bool, readonly: bool, theme: str | None) -> str:
    """The shell command textual-serve runs for each browser: this board, on the same ledger."""
    from ..ledger.db import redact

    argv = [sys.executable, "-m", "openclaw_board"]
    if redact(url) == url:
        argv += ["--db", url]  # else it has a password: it goes through the environment, not argv
    argv.append("board")
    if no_supervise:
        argv.append("--no-supervise")
    if readonly:
        argv.append("--readonly")
    if theme:
        argv += ["--theme", theme]
    return command_line(argv)


def exposure_warning(host: str, port: int) -> str:
    return (
        f"WARNING: serving the board on {host}:{port}, which is not loopback.\n"
        "  The URL's token is all that stands between this port and the board, and it crosses the\n"
        "  network in plain HTTP: whoever reads it can see every flow, command and error, cancel\n"
        "  and retry work, and (through the ledger) make the supervisor run commands.\n"
        "  Prefer the default (127.0.0.1) and an SSH tunnel:\n"
        f"      ssh -L {port}:127.0.0.1:{port} <this host>   then open the URL printed below\n"
        "  Use --readonly at least if you must expose it."
    )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: loopback only)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    public_url: str | None = typer.Option(None, "--public-url", metavar="URL", help="The URL browsers use "
                                          "to reach it (default: http://HOST:PORT)."),
    no_supervise: bool = typer.Option(False, "--no-supervise", help="Do not run queued work from the board."),
    readonly: bool = typer.Option(False, "--readonly", help="Look only: hide and refuse every action."),
    theme: str | None = typer.Option(None, "--theme", metavar="NAME", help="A theme by name."),
) -> None:
    """The board in a browser (textual-serve): each browser tab runs `openclaw-board board`.

    Only for whoever opens the URL it prints (it holds a random token), and only from the
    board's own pages (a foreign Origin is refused): see `board.serve`.
    """
    if not 1 <= port <= 65535:
        fail(f"--port {port}: use 1-65535", 2)
    url = ledger_url()
    with open_ledger(create=not readonly, readonly=readonly):
        pass  # a missing or unusable ledger is one `error:` line, before listening
    _theme(theme)  # checked here; each served board takes the same settings (environment, config file)
    from ..board.serve import WILDCARD_HOSTS, GuardedServer, is_loopback
    from ..ledger.db import redact

    if redact(url) != url:
        os.environ["OPENCLAW_BOARD_DB"] = url  # the served board's ledger, kept out of argv and logs
    if not is_loopback(host):
        err.print(exposure_warning(host, port), style="bold red")
    if public_url is None:
        shown = socket.gethostname() if host in WILDCARD_HOSTS else host
        public_url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    command = served_command(url, no_supervise=no_supervise, readonly=readonly, theme=theme)
    server = GuardedServer(command, host=host, port=port, public_url=public_url)
    try:
        server.serve()
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
