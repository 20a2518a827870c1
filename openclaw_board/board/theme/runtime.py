"""The board's themes at run time: load and choose one at start, remember the operator's
pick, and apply a theme file that changes on disk (the files themselves: themes.py).

A base of BoardApp; it needs `theme_name` (from --theme), `live` and the header.
"""

from __future__ import annotations

from typing import Any

from ..app_state import BoardState
from ..widgets.header import BoardHeader


class Theming(BoardState):
    def _theme_chosen(self, theme: Any) -> None:
        """The operator picked a theme (palette): remember it. Starting with one is not a pick."""
        from .theme_files import remember_theme

        if theme.name == self._theme_at_start:
            return
        self._theme_at_start = None  # from now on every pick counts, even going back
        try:
            remember_theme(theme.name)
        except OSError as exc:
            self.notify(f"could not remember the theme: {exc}", severity="warning")

    def _apply_theme(self) -> None:
        from .theme_files import ThemeError, choose_theme, load_themes, register_themes

        theme_set = load_themes()
        register_themes(self, theme_set)
        for problem in theme_set.errors:
            self.notify(problem, severity="warning", timeout=8)
        try:
            self.theme = choose_theme(theme_set, self.theme_name)
        except ThemeError as exc:
            self.notify(str(exc), severity="error", timeout=8)
        if self.live:
            self.run_worker(self._watch_themes(theme_set), group="themes", exit_on_error=False)

    async def _watch_themes(self, theme_set: Any) -> None:
        from .theme_files import apply_theme, watch_theme_changes

        try:
            async for _path, result in watch_theme_changes(theme_set):
                if isinstance(result, str):
                    self.notify(result, severity="warning", timeout=8)
                else:
                    apply_theme(self, result)
                    self.query_one(BoardHeader).redraw()
        except Exception as exc:  # noqa: BLE001 - live theme reload is a nicety
            self.log(f"theme watching stopped: {exc}")
