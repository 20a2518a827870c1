"""The command palette (ctrl+p): every board action by name, for the selected row."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import BoardApp

COMMANDS: list[tuple[str, str, str]] = [
    # (name, action, help)
    ("Inspect the selected row", "inspect", "fields, events, attempts and log"),
    ("Follow the task's log", "logs", "the log, following it as it grows"),
    ("Cancel the selected task or flow", "cancel", "asks first; names what will be stopped"),
    ("Retry the selected task", "retry", "a new attempt of a finished task"),
    ("Reopen the selected flow", "reopen", "retries what did not succeed"),
    ("Approve the selected task", "approve", "it may start"),
    ("Deny the selected task", "deny", "it is cancelled"),
    ("Expand or collapse the flow", "toggle", "show its tasks"),
    ("Filter by text", "filter", "goal, label, task label, id prefix"),
    ("Show all flows", "status_filter('all')", "clear the status filter"),
    ("Show active flows", "status_filter('active')", "queued, waiting, running"),
    ("Show flows with issues", "status_filter('issues')", "failed, timed out, lost, blocked"),
    ("Show blocked flows", "status_filter('blocked')", "blocked flows and tasks"),
    ("Change the sort order", "sort", "status, updated, created, goal"),
    ("Show more older flows", "more", "200 more finished flows"),
    ("Time travel: replay the selected flow", "time_travel", "step through its events, as it was then"),
    ("Save a screenshot of the screen", "save_screenshot", "an SVG in <state dir>/screenshots"),
    ("Help: every key", "help", "the key reference"),
    ("Quit the board", "quit_board", "running tasks keep running, detached"),
]


class BoardCommands(Provider):
    def _available(self) -> list[tuple[str, str, str]]:
        app: BoardApp = self.app  # type: ignore[assignment]
        out = []
        for name, action, help_text in COMMANDS:
            bare = action.split("(")[0]
            if bare in ("cancel", "retry", "reopen", "approve", "deny"):
                from .view.targets import applies

                if app.readonly or not applies(bare, app.target()):
                    continue
            out.append((name, action, help_text))
        return out

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
