"""Where an OpenClaw ledger is: `openclaw:///path`, `openclaw://` (the default install), or a path.

`openclaw://` with no path means `$OPENCLAW_STATE_DIR/state/openclaw.sqlite`, else
`~/.openclaw/state/openclaw.sqlite` (LEDGER.md). A directory is taken as a state
directory.

Older releases (3.31 to 4.1) split the ledger in two: tasks in `<state dir>/tasks/runs.sqlite`
and flows in `<state dir>/flows/registry.sqlite`. Where the single file does not exist but
`tasks/runs.sqlite` does, that is the ledger, and `registry_of` finds its flows next to it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LedgerUnavailable

SCHEME = "openclaw:"


def is_openclaw_url(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(SCHEME)  # type: ignore[union-attr]


def default_state_dir() -> Path:
    env = os.environ.get("OPENCLAW_STATE_DIR")
    return Path(env).expanduser() if env else Path("~/.openclaw").expanduser()


def default_path() -> Path:
    single = default_state_dir() / "state" / "openclaw.sqlite"
    older = default_state_dir() / "tasks" / "runs.sqlite"
    return older if not single.exists() and older.exists() else single


def _in_state_dir(state_dir: Path) -> Path | None:
    """The ledger file of a state directory: the single file, else an older release's runs.sqlite."""
    for candidate in (state_dir / "state" / "openclaw.sqlite", state_dir / "openclaw.sqlite",
                      state_dir / "tasks" / "runs.sqlite"):
        if candidate.exists():
            return candidate
    return None


def registry_of(tasks_path: Path) -> Path | None:
    """An older release's flows/registry.sqlite beside its tasks/runs.sqlite, when it exists."""
    if tasks_path.name != "runs.sqlite" or tasks_path.parent.name != "tasks":
        return None
    registry = tasks_path.parent.parent / "flows" / "registry.sqlite"
    return registry if registry.is_file() else None


def resolve_path(url: str) -> Path:
    """The database file an `openclaw:` URL names (it may not exist: `open_readonly` says so)."""
    rest = url.strip()[len(SCHEME):]
    if rest.startswith("//"):
        rest = rest[2:]
    if not rest:
        return default_path()
    if not rest.startswith(("/", "~")):
        raise LedgerUnavailable(
            f"bad OpenClaw URL {url!r}: use openclaw:///path/to/openclaw.sqlite, or openclaw:// "
            "for the default install"
        )
    path = Path(rest).expanduser()
    if path.is_dir():
        return _in_state_dir(path) or path / "state" / "openclaw.sqlite"
    return path
