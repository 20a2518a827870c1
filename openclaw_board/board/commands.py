"""The command palette: every board action by name (view/keys.py names them) that would run
on the screen the palette was opened over."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .view.keys import bare, commands

if TYPE_CHECKING:
    from .board_app import BoardApp


class BoardCommands(Provider):
    def _available(self) -> list[tuple[str, str, str]]:
        app = cast("BoardApp", self.app)
        return [(b.command, b.action, b.command_help) for b in commands() if app.allows(bare(b.action), self.screen)]

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for name, action, help_text in self._available():
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action), help=help_text)
