"""The board rendered headless to SVG: `openclaw-board screenshot` and the README's pictures.

Deterministic for a fixed ledger and clock: no pollers, no watcher, no supervisor, no
animation or cursor blink (live=False), and the clock fixed at `clock_ms` (the CLI uses
the ledger's newest event time, or `--at`). With `at`, the rows come from the event log
as it was then (ledger/snapshot_ledger.py). With `flow_id`, the board shows that flow
only (a filter on its id, which the header names) and expanded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ...ledger.clock import fixed_clock


@dataclass(frozen=True)
class Shot:
    size: tuple[int, int] = (120, 36)
    clock_ms: int = 0  # the board's "now"
    at: int | None = None  # time travel
    theme: str | None = None
    flow_id: str | None = None
    title: str | None = None  # the header's title (default: the ledger URL, as the board shows it)
    svg_title: str = "openclaw-board"  # the window title drawn in the SVG
    select: str | None = None  # a row key to select first ("f:<flow_id>", "t:<flow_id>:<label>")
    keys: tuple[str, ...] = ()  # then press these, waiting for the board after each


def newest_event_ms(ledger: Any) -> int | None:
    """The time of the ledger's newest event: the moment a screenshot of "now" is drawn at."""
    import peewee as pw

    Event = ledger.m.Event
    newest: int | None = Event.select(pw.fn.MAX(Event.at)).scalar()
    return newest


def render_svg(url: str, shot: Shot) -> str:
    """Run the board headless on `url` as `shot` says and return the final screen as SVG."""
    from ..board_app import BoardApp
    from ..widgets.flowlist import FlowList

    app = BoardApp(url, clock=fixed_clock(shot.clock_ms), live=False, theme=shot.theme,
                   title=shot.title, at=shot.at)
    if shot.flow_id is not None:
        app.spec = replace(app.spec, text=shot.flow_id, expanded=frozenset({shot.flow_id}))
    result: dict[str, str] = {}

    async def settle(pilot: Any) -> None:
        await app.settled()
        await pilot.pause()

    async def auto(pilot: Any) -> None:
        try:
            await settle(pilot)
            if shot.select is not None and not app.query_one(FlowList).select_key(shot.select):
                raise LookupError(f"no row {shot.select!r} on the board")
            for key in shot.keys:
                await pilot.press(key)
                await settle(pilot)
            await pilot.pause(0.1)  # screens pushed by the keys lay out and load
            await settle(pilot)
            result["svg"] = app.export_screenshot(title=shot.svg_title, simplify=True)
        finally:
            app.exit(app.shutdown())

    app.run(headless=True, size=shot.size, auto_pilot=auto)
    if "svg" not in result:
        raise RuntimeError("the board did not draw (see the error above)")
    return result["svg"]
