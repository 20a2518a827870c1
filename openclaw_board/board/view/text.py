"""Text that came from tasks, specs or logs, made safe to draw.

Everything the board shows from the ledger goes through `clean()` and is wrapped in a
`rich.text.Text` (never parsed as markup), so `[bold]`, `[/]`, escape sequences and
control characters appear literally instead of styling or moving the terminal's cursor.
What counts as a control and how it is shown is `openclaw_board.safetext`'s one rule.
"""

from __future__ import annotations

from ...ledger.durations import format_duration
from ...safetext import visible


def clean(text: object, limit: int = 2000) -> str:
    """One safe line: control characters made visible, tabs as spaces, clipped to `limit`."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return visible(s.replace("\t", "    "))


def clean_line(text: str) -> str:
    """A log line: like `clean` but without clipping (the log view crops to the screen)."""
    return visible(text.replace("\t", "    "))


def duration(ms: int | None) -> str:
    if ms is None:
        return ""
    return format_duration(max(0, ms) / 1000)


def span(seconds: float) -> str:
    """A configured length of time, as a spec would write it: `15m`, `1h30m`, `2h`, `45s`."""
    text = format_duration(seconds)
    for unit, zero in (("m", "00s"), ("h", "00m"), ("d", "0h")):
        if text.endswith(unit + zero):
            return text[: -len(zero)]
    return text


def age(ms: int | None) -> str:
    """Coarse: seconds for the first minute, then whole minutes/hours, so that a board of
    waiting work redraws once a minute, not once a second."""
    if ms is None:
        return ""
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return format_duration(seconds // 60 * 60)


def progress_bar(pct: float, width: int) -> str:
    """`█████▌░░░░ 55%`: eighths of a cell so small changes still show."""
    pct = max(0.0, min(100.0, float(pct)))
    label = f"{pct:3.0f}%"
    cells = max(1, width - len(label) - 1)
    eighths = round(cells * 8 * pct / 100)
    full, part = divmod(eighths, 8)
    bar = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
    return (bar + "░" * (cells - len(bar)))[:cells] + " " + label


def short_id(value: str | None) -> str:
    return (value or "")[:8]


def approval_left(created_at: int, timeout_s: float | None, now: int) -> str | None:
    """"approve within 1h12m" on a task awaiting approval with an `approval_timeout` (the ledger
    denies it at created_at + timeout), in whole minutes so that the row redraws once a minute;
    None without a timeout."""
    if timeout_s is None:
        return None
    left = created_at + int(timeout_s * 1000) - now
    if left <= 0:
        return "approval overdue: being denied"
    if left < 60_000:
        return "approve within a minute"
    return f"approve within {format_duration(left // 60_000 * 60)}"
