"""The header: pressure lines as OpenClaw prints them, and which supervisor is running work."""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ..theme.palette import rich_color, status_color
from ..view.model import Board, SupervisorView
from ..view.text import clean, duration


def supervisor_state(sups: tuple[SupervisorView, ...], own: str | None, starting: bool, now: int) -> tuple[str, str]:
    """(text, level) where level is ok | warn | none."""
    alive = [s for s in sups if s.alive(now)]

    def beat(s: SupervisorView) -> str:
        age = max(0, now - s.heartbeat_at)
        return "♥ now" if age < 5000 else f"♥ {duration(age // 5000 * 5000)} ago"

    mine = next((s for s in alive if s.supervisor_id == own), None)
    if mine is not None:
        others = len(alive) - 1
        return f"supervisor: embedded {beat(mine)}" + (f" (+{others} external)" if others else ""), "ok"
    if starting:
        return "supervisor: embedded, starting…", "warn"
    if alive:
        s = alive[0]
        more = f" (+{len(alive) - 1})" if len(alive) > 1 else ""
        return f"supervisor: external on {clean(s.host, 40)} {beat(s)}{more}", "ok"
    if sups:
        last = max(s.heartbeat_at for s in sups)
        return f"supervisor: none alive (last ♥ {duration(now - last)} ago)", "warn"
    return "supervisor: none seen", "warn"


def count_of(n: int, word: str, plural: str | None = None) -> str:
    """`1 issue`, `2 issues`, `0 rows`: a number with its noun, singular only for one."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def view_summary(board: Board | None, note: str) -> str:
    """What the list shows: its rows (flows and tasks, not the pager), then the filter, the
    sort and the moment the app describes in `note` (which quotes the filter typed)."""
    bits = []
    if board is not None:
        bits.append(count_of(sum(1 for r in board.rows if r.kind != "more"), "row"))
    if note:
        bits.append(clean(note, 200))
    return " · ".join(bits)


class BoardHeader(Static):
    # What the header shows; each change redraws it (the 1 s tick redraws for the heartbeats' ages).
    board: reactive[Board | None] = reactive(None, init=False, repaint=False)
    own: reactive[str | None] = reactive(None, init=False, repaint=False)  # the embedded supervisor's id
    starting: reactive[bool] = reactive(False, init=False, repaint=False)  # the embedded supervisor is starting
    view_note: reactive[str] = reactive("", init=False, repaint=False)  # filter, sort, moment

    def __init__(self, clock: Callable[[], int], title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.title_text = title
        self._last: tuple[object, ...] | None = None

    def watch_board(self) -> None:
        self.redraw()

    def watch_own(self) -> None:
        self.redraw()

    def watch_starting(self) -> None:
        self.redraw()

    def watch_view_note(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Update only when the text differs: an idle board writes nothing to the terminal."""
        if not self.is_mounted:
            return
        board = self.board
        now = self.clock()
        width = max(20, self.content_size.width or 80)
        sup, level = supervisor_state(board.supervisors if board else (), self.own, self.starting, now)
        note = view_summary(board, self.view_note)
        key = (board.pressure if board else None, sup, level, width, note, self.app.theme)
        if key == self._last:
            return
        self._last = key
        colors = self.app.theme_variables
        ok = Style(color=rich_color(colors.get("success", "green")))
        warn = Style(color=rich_color(colors.get("warning", "yellow")))
        dim = Style(dim=True)
        line1 = Text(no_wrap=True, end="")
        line1.append("openclaw-board", style=Style(bold=True))
        line1.append(f"  {clean(self.title_text, 300)}", style=dim)
        right = Text(sup, style=ok if level == "ok" else warn)
        gap = width - line1.cell_len - right.cell_len
        if gap < 2:
            line1.truncate(max(0, width - right.cell_len - 2), overflow="ellipsis")
            gap = 2
        line1.append(" " * gap)
        line1.append_text(right)
        if board is None:
            body = Text("loading the ledger…", style=dim)
        else:
            fp, tp = board.pressure.flows, board.pressure.tasks
            body = Text(no_wrap=True, end="")
            body.append("Flow pressure: ", style=Style(bold=True))
            body.append(f"{fp.get('active', 0)} active · {fp.get('blocked', 0)} blocked · "
                        f"{fp.get('cancel_requested', 0)} cancel-requested · {fp.get('total', 0)} total\n")
            body.append("Task pressure: ", style=Style(bold=True))
            issues = tp.get("issues", 0)
            body.append(f"{tp.get('queued', 0)} queued · {tp.get('running', 0)} running · ")
            body.append(count_of(issues, "issue"), style=Style(color=status_color(colors, "failed")) if issues else "")
            if board.pressure.undelivered:
                body.append(" · ")
                body.append(f"{board.pressure.undelivered} undelivered", style=warn)
        if note:
            last_line = body.plain.rsplit("\n", 1)[-1]
            room = width - len(last_line) - 2
            if len(note) > room:  # a narrow terminal: the note gives way, cut with an ellipsis
                note = note[: max(0, room - 1)] + "…" if room > 1 else ""
            pad = width - len(last_line) - len(note)
            body.append(" " * max(2, pad))
            body.append(note, style=Style(color=rich_color(colors.get("accent", "cyan"))))
        self.update(Text("\n", end="").join([line1, body]))
