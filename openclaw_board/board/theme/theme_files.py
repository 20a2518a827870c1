"""Board themes: TOML files that name Textual's colours plus one colour per task status.

A theme file (shipped in `themes/`, or the user's own in `<state dir>/themes/`):

    name = "my-theme"          # optional; default: the file's stem
    dark = true                # optional bool, default true
    ansi = false               # optional bool: emit native ANSI colours (16-colour terminals)
    primary = "#4FA3F7"        # required; the rest are optional colours
    secondary / accent / background / surface / panel / boost / foreground /
    success / warning / error = "<colour>"
    [status]                   # one colour per task status
    running = "#4FA3F7"  ...
    [variables]                # optional extra Textual variables, colours only
    block-cursor-background = "ansi_white"

A colour is anything `textual.color.Color.parse` accepts: `#RGB`, `#RRGGBB`, `rgb(...)`,
`hsl(...)`, a CSS name, or `ansi_red`, `ansi_bright_green`, `ansi_default`.
A status missing from `[status]` falls back to the theme's own colours (failed -> error,
succeeded -> success, ...), so that a short user theme still works; the shipped themes
name all nine. Anything else (bad TOML, an unknown key or status, a bad colour, a wrong
type, no `primary`) makes the file bad: it is reported once, with file and reason, and
skipped. Every theme gets the variables `status-<status>` ($status-running in TCSS).
Textual's built-in themes get them too, derived, so any theme in the palette works.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import App
from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme
from watchfiles import Change, awatch

from openclaw_board.ledger.db import ensure_private_dir, state_dir
from openclaw_board.ledger.errors import LedgerUnavailable, quoted
from openclaw_board.ledger.filesafety import private_dir
from openclaw_board.ledger.states import TASK_STATUSES

DEFAULT_THEME = "openclaw-dark"
ENV_VAR = "OPENCLAW_BOARD_THEME"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "themes"
COLOR_KEYS = tuple("primary secondary accent background surface panel boost foreground success warning error".split())
BOOL_KEYS = ("dark", "ansi")
TABLE_KEYS = ("status", "variables")
KNOWN_KEYS = ("name", *COLOR_KEYS, *BOOL_KEYS, *TABLE_KEYS)
# Where a status colour comes from when a theme does not name it: the first key present.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "awaiting_approval": ("accent", "warning"),
    "queued": ("secondary",),
    "running": ("primary",),
    "succeeded": ("success",),
    "blocked": ("warning", "accent"),
    "failed": ("error",),
    "timed_out": ("error", "warning"),
    "cancelled": ("foreground", "secondary"),
    "lost": ("error",),
}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_THEME_BYTES = 64 << 10  # a theme is a few hundred bytes; anything past this is not one


class ThemeError(Exception):
    """A bad theme file or an unknown theme name; str() is one line for the user."""


@dataclass
class ThemeSet:
    themes: dict[str, Theme] = field(default_factory=dict)  # name -> Theme, in load order
    sources: dict[str, Path | None] = field(default_factory=dict)  # name -> file (None: Textual built-in)
    errors: list[str] = field(default_factory=list)  # one line per bad file

    @property
    def names(self) -> list[str]:
        return sorted(self.themes)


def user_themes_dir() -> Path:
    return state_dir() / "themes"


def theme_dirs(user_dir: Path | None = None) -> list[Path]:
    """The directories themes are read from, in order (later files override earlier ones)."""
    return [SHIPPED_DIR, user_dir if user_dir is not None else user_themes_dir()]


def _is_theme_file(name: str) -> bool:
    return name.endswith(".toml") and not name.startswith(".")  # not editors' .#lock or .swp files


def _color(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"key {quoted(key)} must be a colour string, not {type(value).__name__} {quoted(value)}")
    try:
        return Color.parse(value).hex
    except ColorParseError as exc:
        raise ThemeError(f"bad colour {quoted(value)} for key {quoted(key)} ({str(exc)[:80]})") from None


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ThemeError(f"{key!r} must be a table ([{key}]), not {type(value).__name__}")
    return value


def parse_theme(data: dict[str, Any], default_name: str) -> Theme:
    """A Theme from parsed TOML; raises ThemeError naming the first problem."""
    unknown = [k for k in data if k not in KNOWN_KEYS]
    if unknown:
        raise ThemeError(f"unknown key {quoted(unknown[0])} (known: {', '.join(KNOWN_KEYS)})")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ThemeError(f"bad theme name {quoted(name)}: use letters, digits, '-' and '_'")
    if "primary" not in data:
        raise ThemeError("missing required key 'primary'")
    colors = {k: _color(data[k], k) for k in COLOR_KEYS if k in data}
    flags: dict[str, bool] = {}
    for key in BOOL_KEYS:
        if key in data:
            if not isinstance(data[key], bool):
                raise ThemeError(f"key {key!r} must be true or false, not {quoted(data[key])}")
            flags[key] = data[key]
    status = _table(data, "status")
    bad = [s for s in status if s not in TASK_STATUSES]
    if bad:
        raise ThemeError(f"unknown status {quoted(bad[0])} in [status] (known: {', '.join(TASK_STATUSES)})")
    variables = {str(k): _color(v, f"variables.{k}") for k, v in _table(data, "variables").items()}
    for s in TASK_STATUSES:
        if s in status:
            variables[f"status-{s}"] = _color(status[s], f"status.{s}")
    if flags.get("ansi"):
        # Textual's widgets use these two, and only its non-ANSI colour system defines them.
        dark = flags.get("dark", True)
        variables.setdefault("ansi-background", "ansi_black" if dark else "ansi_white")
        variables.setdefault("ansi-foreground", "ansi_white" if dark else "ansi_black")
    options: dict[str, Any] = {**colors, **flags}
    return with_status_variables(Theme(name=name, variables=variables, **options))


def _read_theme_bytes(path: Path) -> bytes:
    """At most MAX_THEME_BYTES of a regular file. Opened O_NONBLOCK and checked with fstat
    before any read: a FIFO would block for a writer, /dev/zero would never end."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ThemeError("not a regular file")
        if st.st_size > MAX_THEME_BYTES:
            raise ThemeError(f"larger than {MAX_THEME_BYTES >> 10} KiB")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_THEME_BYTES:
            chunk = os.read(fd, MAX_THEME_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_THEME_BYTES:  # it grew while we read it
            raise ThemeError(f"larger than {MAX_THEME_BYTES >> 10} KiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_theme_file(path: Path) -> Theme:
    """One theme file -> Theme; raises ThemeError("bad theme file <path>: <reason>"), one line.

    Whatever the file holds (binary, deep nesting, a FIFO, a device), the reason is one line
    and the board goes on with the other themes."""
    try:
        data = tomllib.loads(_read_theme_bytes(path).decode("utf-8"))
        return parse_theme(data, path.stem)
    except ThemeError as exc:
        raise ThemeError(f"bad theme file {path}: {exc}") from None
    except UnicodeDecodeError:
        raise ThemeError(f"bad theme file {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"bad theme file {path}: bad TOML: {exc}") from None
    except RecursionError:
        raise ThemeError(f"bad theme file {path}: bad TOML: nested too deeply") from None
    except OSError as exc:
        raise ThemeError(f"bad theme file {path}: cannot read it: {exc.strerror or exc}") from None


def reload_theme_file(path: Path) -> Theme | str:
    """For the board's file watcher: the changed file's new Theme, or the error line to show."""
    try:
        return load_theme_file(path)
    except ThemeError as exc:
        return str(exc)


async def watch_theme_changes(
    theme_set: ThemeSet, user_dir: Path | None = None, *, debounce_ms: int = 400
) -> AsyncIterator[tuple[Path, Theme | str]]:
    """For a board worker: yields (file, new Theme or error line) as theme files change on disk.

    Creates the user theme directory (0700) so that a file dropped there later is seen.
    Keeps `theme_set` current; a change to a shipped file whose name a user file overrides
    is ignored. Pass each Theme to `apply_theme` on the app's thread; show each error once.
    """
    shipped, user = theme_dirs(user_dir)
    ensure_private_dir(user, "themes directory")
    dirs = [d.resolve() for d in (shipped, user) if d.is_dir()]
    wanted = lambda change, name: change != Change.deleted and _is_theme_file(Path(name).name)  # noqa: E731
    async for changes in awatch(*dirs, watch_filter=wanted, debounce=debounce_ms):
        for path in sorted({Path(name) for _, name in changes}):
            result = reload_theme_file(path)
            if isinstance(result, Theme):
                owner = theme_set.sources.get(result.name)
                if owner is not None and owner.resolve().parent == user.resolve() != path.parent:
                    continue  # the user's own file for this name wins over a shipped one
                theme_set.themes[result.name] = result
                theme_set.sources[result.name] = path
            yield path, result


def with_status_variables(theme: Theme) -> Theme:
    """A copy of `theme` whose variables hold `status-<s>` for every status (derived if absent)."""
    variables = dict(theme.variables)
    for s in TASK_STATUSES:
        if f"status-{s}" not in variables:
            source = next((getattr(theme, k) for k in FALLBACKS[s] if getattr(theme, k)), theme.primary)
            variables[f"status-{s}"] = Color.parse(source).hex
    return dataclasses.replace(theme, variables=variables)


def status_colors(theme: Theme) -> dict[str, str]:
    """Status -> colour ("#RRGGBB" or "ansi_*"); for Rich use Color.parse(c).rich_color."""
    variables = with_status_variables(theme).variables
    return {s: variables[f"status-{s}"] for s in TASK_STATUSES}


def load_themes(user_dir: Path | None = None) -> ThemeSet:
    """Textual's built-ins, then the shipped files, then the user's (`<state dir>/themes`)."""
    result = ThemeSet()
    for theme in BUILTIN_THEMES.values():
        result.themes[theme.name] = with_status_variables(theme)
        result.sources[theme.name] = None
    shipped, user = theme_dirs(user_dir)
    for directory in (shipped, user):
        seen: dict[str, Path] = {}
        if directory is user and directory.exists():
            try:
                # The user's directory must be theirs (or root's) and not writable by others.
                private_dir(directory, "themes directory", create=False)
            except LedgerUnavailable as exc:
                result.errors.append(f"{exc}; its themes are skipped")
                continue
        for path in sorted(p for p in directory.glob("*.toml") if _is_theme_file(p.name)):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                result.errors.append(str(exc))
                continue
            if theme.name in seen:
                first = seen[theme.name]
                result.errors.append(f"bad theme file {path}: theme {theme.name!r} is already defined by {first}")
                continue
            seen[theme.name] = path
            result.themes[theme.name] = theme
            result.sources[theme.name] = path
    return result


def register_themes(app: App[Any], theme_set: ThemeSet) -> None:
    """Register every theme with `app` (call before setting app.theme, e.g. in __init__)."""
    for theme in theme_set.themes.values():
        app.register_theme(theme)


def apply_theme(app: App[Any], theme: Theme) -> None:
    """Register a (re)loaded theme; if it is the current one, restyle the app with it now."""
    app.register_theme(with_status_variables(theme))
    if app.theme == theme.name:
        app.mutate_reactive(App.theme)  # re-runs the theme watcher: new CSS variables, refresh


def settings_path() -> Path:
    return state_dir() / "settings.json"


def _read_settings() -> dict[str, Any]:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no settings yet, or a damaged file: start again rather than refuse to run
    return data if isinstance(data, dict) else {}


def remembered_theme() -> str | None:
    name = _read_settings().get("theme")
    return name if isinstance(name, str) else None


def remember_theme(name: str) -> None:
    """Store the choice in `<state dir>/settings.json` (0600, written atomically)."""
    settings = _read_settings()
    settings["theme"] = name
    path = settings_path()
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(settings, fh, indent=2)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def choose_theme(theme_set: ThemeSet, cli_name: str | None = None) -> str:
    """`--theme NAME` > $OPENCLAW_BOARD_THEME > the remembered choice > openclaw-dark.

    An unknown name given by flag or environment raises ThemeError listing the available
    names; a remembered theme that has since gone (its file deleted) falls back quietly.
    """
    for name, origin in ((cli_name, "--theme"), (os.environ.get(ENV_VAR) or None, ENV_VAR)):
        if name is not None:
            if name not in theme_set.themes:
                raise ThemeError(f"unknown theme {name!r} (from {origin}); available: {', '.join(theme_set.names)}")
            return name
    remembered = remembered_theme()
    if remembered in theme_set.themes:
        return remembered
    return DEFAULT_THEME if DEFAULT_THEME in theme_set.themes else "textual-dark"
