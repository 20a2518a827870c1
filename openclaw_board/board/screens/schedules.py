"""The schedules (`C`): each cron schedule with what its expression means, its next firing,
how its last flow ended, and whether it is paused; pause, resume, or run one now.

Reads and actions go to the service thread as `Call`s (service/schedule_reads.py), which
uses the ledger's own functions, those of `schedules pause/resume/run-now`. Pausing and
running now ask first, naming the schedule, with No focused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..bindings import bindings
from ..service.requests import Call
from ..service.schedule_reads import schedule_action, schedules_request
from ..view.keys import Scope, key_of
from ..view.schedules import Schedules, ScheduleView, cron_text, last_text, name_text, next_text, reading_text
from .dialogs import ConfirmScreen

if TYPE_CHECKING:
    from ..app_state import BoardState

# The name and what happens next first: at 80 columns the cron and its reading scroll into view.
COLUMNS = ("SCHEDULE", "NEXT FIRING", "LAST OUTCOME", "CRON", "READS AS")


class SchedulesScreen(Screen[None]):
    DEFAULT_CSS = """
    SchedulesScreen { layout: vertical; }
    SchedulesScreen #schedules-head {
        height: 2; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
    }
    SchedulesScreen DataTable { height: 1fr; }
    """
    BINDINGS = bindings(Scope.SCHEDULES)

    def __init__(self) -> None:
        super().__init__()
        self.schedules: Schedules | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the schedules…"), id="schedules-head")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=False, id="schedules")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.board_changed()

    @property
    def _board(self) -> BoardState:
        return self.app  # type: ignore[return-value]  # only ever pushed by the board

    def board_changed(self) -> None:
        """Read the schedules again (opened, the ledger changed, an action was done)."""
        service = self._board.service
        if service is not None:
            service.submit(Call(schedules_request(self._deliver)))

    def _deliver(self, schedules: Schedules) -> None:
        """On the service thread: hand the answer to the app, which routes it here."""
        from ..service.answers import SchedulesRead

        self._board._deliver(SchedulesRead(schedules))

    # -- drawing --------------------------------------------------------------------------------

    def show(self, schedules: Schedules) -> None:
        self.schedules = schedules
        now = self._board.clock()
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append("Schedules", style="bold")
        if schedules.error:
            head.append(f"  {schedules.error}", style="italic")
        else:
            n = len(schedules.rows)
            head.append(f"  {n} schedule{'s' if n != 1 else ''}; a firing makes a flow on the board")
        keys = [f"{key_of(a, Scope.SCHEDULES)} {w}" for a, w in
                (("pause_schedule", "pause"), ("resume_schedule", "resume"), ("run_schedule", "run now"),
                 ("close", "close"))]
        head.append("\n" + " · ".join(keys), style="dim")
        self.query_one("#schedules-head", Static).update(head)
        table: DataTable[Text] = self.query_one(DataTable)
        keep = self.selected.schedule_id if self.selected else None
        table.clear()
        for s in schedules.rows:
            last = last_text(s, now)
            bad = s.last_outcome in ("failed", "lost", "blocked", "cancelled")
            table.add_row(Text(name_text(s)), Text(next_text(s, now), style="italic" if s.paused else ""),
                          Text(last, style="red" if bad else ""), Text(cron_text(s)),
                          Text(reading_text(s), style="dim"), key=s.schedule_id)
        if keep is not None and keep in {s.schedule_id for s in schedules.rows}:
            table.move_cursor(row=table.get_row_index(keep))

    @property
    def selected(self) -> ScheduleView | None:
        if self.schedules is None or not self.schedules.rows:
            return None
        table: DataTable[Text] = self.query_one(DataTable)
        row = table.cursor_row
        return self.schedules.rows[row] if 0 <= row < len(self.schedules.rows) else None

    # -- keys -----------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + delta))

    def action_pause_schedule(self) -> None:
        s = self.selected
        if s is None:
            return
        if s.paused:
            self.notify(f"“{name_text(s)}” is already paused ({key_of('resume_schedule', Scope.SCHEDULES)} resumes)",
                        severity="warning", title="nothing to pause")
            return
        self._ask("pause", s, f"Pause “{name_text(s)}”?",
                  f"Schedule {s.schedule_id[:8]} ({cron_text(s)}: {reading_text(s)}) will not fire "
                  "until it is resumed.\n"
                  "Flows it already made keep running.", "Yes, pause it")

    def action_resume_schedule(self) -> None:
        s = self.selected
        if s is None:
            return
        if not s.paused:
            self.notify(f"“{name_text(s)}” is not paused", severity="warning", title="nothing to resume")
            return
        self._do("resume", s)

    def action_run_schedule(self) -> None:
        s = self.selected
        if s is None:
            return
        self._ask("run_now", s, f"Run “{name_text(s)}” now?",
                  f"Schedule {s.schedule_id[:8]} makes one flow now, whatever its cron and overlap say.",
                  "Yes, run it now")

    def _ask(self, verb: str, s: ScheduleView, title: str, body: str, yes: str) -> None:
        if self._board.readonly:
            self.notify("read-only board: actions are off", severity="warning", title="refused")
            return

        def answered(ok: bool | None) -> None:
            if ok:
                self._do(verb, s)

        self.app.push_screen(ConfirmScreen(title, body, yes), answered)

    def _do(self, verb: str, s: ScheduleView) -> None:
        from ..service.answers import ActionDone

        board = self._board
        if board.readonly:
            self.notify("read-only board: actions are off", severity="warning", title="refused")
            return
        if board.service is not None:
            board.service.submit(Call(schedule_action(
                verb, s.schedule_id, lambda ok, message: board._deliver(ActionDone(ok, message)),
                schedules_request(self._deliver))))

    def action_close(self) -> None:
        self.dismiss(None)
