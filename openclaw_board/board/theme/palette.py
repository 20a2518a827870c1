"""Status glyphs and colours.

Colours come from the active theme's `status-<status>` variables (board/theme/theme_files.py
registers themes that carry them); `STATUS_COLORS` are the defaults that every theme
falls back to, so `$status-running` works in TCSS with Textual's built-in themes too.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from rich.color import Color as RichColor
from textual.color import Color

STATUS_COLORS: dict[str, str] = {
    "awaiting_approval": "#d7af00",
    "queued": "#8a8a8a",
    "waiting": "#d7af00",
    "running": "#00afd7",
    "succeeded": "#5faf5f",
    "blocked": "#d78700",
    "failed": "#d75f5f",
    "timed_out": "#d75f87",
    "cancelled": "#767676",
    "lost": "#af5fd7",
}

# One cell each, readable without colour (16-colour terminals, screen readers of logs).
GLYPHS: dict[str, str] = {
    "awaiting_approval": "?",
    "waiting": "?",
    "queued": "·",
    "running": "▶",
    "succeeded": "✓",
    "blocked": "■",
    "failed": "✗",
    "timed_out": "⧗",
    "cancelled": "⊘",
    "lost": "‽",
}

SHORT_STATUS: dict[str, str] = {"awaiting_approval": "approval?"}


def theme_variable_defaults() -> dict[str, str]:
    return {f"status-{name}": color for name, color in STATUS_COLORS.items()}


def status_color(variables: Mapping[str, str], status: str) -> RichColor:
    """The theme's colour for a status, as Rich wants it (`ansi_red` becomes Rich's `red`)."""
    return rich_color(variables.get(f"status-{status}") or STATUS_COLORS.get(status, "#8a8a8a"))


@lru_cache(maxsize=256)
def rich_color(value: str) -> RichColor:
    try:
        return Color.parse(value).rich_color
    except Exception:  # noqa: BLE001 - a strange theme value must not break drawing
        return RichColor.parse("default")


def glyph(status: str) -> str:
    return GLYPHS.get(status, "•")


def status_label(status: str, width: int) -> str:
    return status if len(status) <= width else SHORT_STATUS.get(status, status[:width])
