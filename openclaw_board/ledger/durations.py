"""Durations as operators write them: seconds as a number, or 90s / 10m / 2h / 1d / 500ms.

A duration is a finite number of seconds, never negative: `nan`, `inf` and `-5` are
refused (a spec's `timeout = nan` was once stored as "no timeout", and `inf` made the
wrapper crash). A task's durations (`timeout`, `retry_backoff`, and `submit --timeout`) go
through `parse_task_duration`, which also refuses anything above MAX_TASK_DURATION_S
(365 days): a longer one is a typo, and no timer needs to be trusted that far.
"""

from __future__ import annotations

import math
import re

from .errors import quoted

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_HINT = "use seconds, or 90s, 10m, 2h"

MAX_TASK_DURATION_S = 365 * 86400.0
MAX_TASK_DURATION = "365d"  # as operators write it


def parse_duration(value: object, *, maximum: tuple[float, str] | None = None, positive: bool = False) -> float:
    """Seconds: finite, not negative (more than zero with `positive`), at most `maximum`
    (seconds, and how to say it). Raises ValueError with a message that says what is accepted."""
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError(f"not a duration: {value!r} ({_HINT})")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        seconds = _to_float(value)
    elif isinstance(value, str) and (match := _PATTERN.match(value)):
        seconds = _to_float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"not a duration: {quoted(value)} ({_HINT})")
    if positive and seconds <= 0:
        raise ValueError("must be more than zero")
    if maximum is not None and seconds > maximum[0]:
        raise ValueError(f"{_show(value)} is more than the maximum, {maximum[1]}")
    if math.isinf(seconds):
        raise ValueError(f"{_show(value)} is too long")
    return seconds


def parse_task_duration(value: object, *, positive: bool = False) -> float:
    """A task's timeout or retry backoff: a duration of at most MAX_TASK_DURATION_S."""
    return parse_duration(value, maximum=(MAX_TASK_DURATION_S, MAX_TASK_DURATION), positive=positive)


def _to_float(value: int | float | str) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for a float; a string of digits becomes inf instead
        return math.inf


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: object) -> str:
    text = value.strip() if isinstance(value, str) else f"{value:g}s" if isinstance(value, float) else f"{value}s"
    return _clip(text)


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
