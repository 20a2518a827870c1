"""Pictures of the board: SVG from Textual, and the files they go to.

`write_picture` writes an SVG as .svg, .html (a page that embeds it) or .png (through
cairosvg, the optional `png` extra, which needs the system's cairo library); anything
else is refused with one line. `save_board_screen` is the board's own key (ctrl+s):
`<state dir>/screenshots/board-<UTC time>.svg`, 0600 in a 0700 directory.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...ledger.db import ensure_private_dir, state_dir

FORMATS = (".svg", ".html", ".png")


class PictureError(Exception):
    """Why a picture cannot be written; str() is one line for the user."""


def picture_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise PictureError(f"{path}: unknown picture format {suffix or '(none)'!r}; use .svg, .html or .png")
    if suffix == ".png":
        png_renderer()  # refuse before any work is done
    return suffix


def png_renderer() -> Any:
    """cairosvg's module, when it can load (it has no type information)."""
    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # OSError: the module is there, libcairo is not
        raise PictureError(
            "PNG needs cairosvg and the system's cairo library "
            f"(pip install 'openclaw-board[png]'; {type(exc).__name__}: {exc}); or write .svg"
        ) from None
    return cairosvg


def html_page(svg: str, title: str) -> str:
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{margin:0;background:#111}svg{display:block;max-width:100%;height:auto}</style>"
        f"</head><body>\n{svg}\n</body></html>\n"
    )


def picture_bytes(svg: str, suffix: str, title: str = "openclaw-board") -> bytes:
    if suffix == ".svg":
        return svg.encode("utf-8")
    if suffix == ".html":
        return html_page(svg, title).encode("utf-8")
    # cairo takes the first font family only and has no web fonts: Fira Code (from a CDN in the
    # SVG) would fall back to a proportional font and the columns would drift. Ask for any
    # monospace font the system has instead.
    local = svg.replace("font-family: Fira Code, monospace;", "font-family: monospace;")
    png: bytes = png_renderer().svg2png(bytestring=local.encode("utf-8"), scale=1.0)
    return png


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path` as 0600 (screens can show commands, errors and hosts)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def write_picture(svg: str, path: Path, title: str = "openclaw-board") -> None:
    suffix = picture_format(path)
    data = picture_bytes(svg, suffix, title)
    try:
        write_private(path, data)
    except OSError as exc:
        raise PictureError(f"cannot write {path}: {exc.strerror or exc}") from None


def screenshots_dir() -> Path:
    return state_dir() / "screenshots"


def save_board_screen(svg: str, now_ms: int, directory: Path | None = None) -> Path:
    """Save a screen as `board-<UTC time>.svg`; a second one in the same second gets `-2`, `-3`..."""
    where = ensure_private_dir(directory or screenshots_dir())
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        path = where / (f"board-{stamp}.svg" if n == 1 else f"board-{stamp}-{n}.svg")
        try:
            write_private(path, svg.encode("utf-8"), exclusive=True)
        except FileExistsError:
            continue
        return path
    raise PictureError(f"too many screenshots named board-{stamp}*.svg in {where}")


def save_screen_of(app: Any) -> None:
    """The board's ctrl+s: save what is on screen and say where (or why not)."""
    try:
        path = save_board_screen(app.export_screenshot(), app.clock())
    except (OSError, PictureError) as exc:
        app.notify(f"screenshot not saved: {exc}", severity="error", timeout=8)
    else:
        app.notify(f"screenshot saved: {path}", timeout=6)
