"""Where an OpenClaw ledger is: `openclaw:///path`, `openclaw://` (the default install), or a path.

`openclaw://` with no path means `$OPENCLAW_STATE_DIR/state/openclaw.sqlite`, else
`~/.openclaw/state/openclaw.sqlite` (LEDGER.md). A directory is taken as a state
directory.
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
    return default_state_dir() / "state" / "openclaw.sqlite"


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
        for candidate in (path / "state" / "openclaw.sqlite", path / "openclaw.sqlite"):
            if candidate.exists():
                return candidate
        return path / "state" / "openclaw.sqlite"
    return path
