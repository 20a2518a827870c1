"""Durations as operators write them: seconds as a number, or 90s / 10m / 2h / 1d / 500ms."""

from __future__ import annotations

import math
import re

from .errors import quoted

# Ten years: past that a number is a typo (and 1e400 or nan would be stored as it is).
MAX_SECONDS = 10 * 366 * 86400
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Seconds. Raises ValueError with a message that says what is accepted."""
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean")
    seconds: float | None = None
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        seconds = float(value) if abs(value) < MAX_SECONDS else math.inf
    elif isinstance(value, str) and len(value) <= 64:
        match = _PATTERN.match(value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds is None:
        raise ValueError(f"not a duration: {quoted(value)} (use seconds, or 90s, 10m, 2h)")
    if not seconds <= MAX_SECONDS:  # also NaN
        raise ValueError(f"a duration of at most {MAX_SECONDS // 86400} days")
    return seconds


def format_duration(seconds: float) -> str:
    """Short human form for the board and tables: 45s, 3m12s, 2h05m, 3d4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"
