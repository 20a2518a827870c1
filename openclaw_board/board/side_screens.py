"""The screens beside the list: the pulse (`P`) and the schedules (`C`).

A base of BoardApp, like navigation.py: it opens them, routes the service thread's answers
to them, and tells them when the board's ledger changed (`board_changed`), so that they read
again through the service thread; the UI thread never reads the ledger.
"""

from __future__ import annotations

from .app_state import BoardState
from .screens.pulse import PulseScreen
from .screens.schedules import SchedulesScreen
from .service.answers import PulseRead, SchedulesRead


class SideScreens(BoardState):
    def action_pulse(self) -> None:
        if not isinstance(self.screen, PulseScreen):
            self.push_screen(PulseScreen(self.clock))

    def action_schedules(self) -> None:
        if not isinstance(self.screen, SchedulesScreen):
            self.push_screen(SchedulesScreen())

    async def on_pulse_read(self, answer: PulseRead) -> None:
        self._handled += 1
        for screen in self.screen_stack:
            if isinstance(screen, PulseScreen):
                await screen.show(answer.pulse)

    def on_schedules_read(self, answer: SchedulesRead) -> None:
        self._handled += 1
        for screen in self.screen_stack:
            if isinstance(screen, SchedulesScreen):
                screen.show(answer.schedules)

    def side_screens_changed(self) -> None:
        """The board's ledger changed: the open side screens read again."""
        for screen in self.screen_stack:
            if isinstance(screen, PulseScreen | SchedulesScreen):
                screen.board_changed()
