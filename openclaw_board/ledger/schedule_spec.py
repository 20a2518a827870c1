"""A spec's `[schedule]` table, and the cron arithmetic behind it.

Cron expressions are read by cronsim (the library healthchecks.io runs its own cron checks
on): standard 5 fields, evaluated in the schedule's IANA time zone, so a 02:30 firing on the
night clocks go forward happens at 03:00 and one on the night they go back happens once.
We never parse cron ourselves. Firing times are stored as UTC milliseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from .durations import parse_task_duration
from .errors import quoted

MISSED_POLICIES = ("skip", "once", "all")
OVERLAP_POLICIES = ("skip", "queue", "cancel_previous")
SCHEDULE_KEYS = {"cron", "timezone", "missed", "overlap", "jitter"}
MAX_JITTER_S = 24 * 3600.0


@dataclass(frozen=True)
class ScheduleSpec:
    cron: str
    timezone: str = "UTC"
    missed: str = "once"  # firings that fell while no supervisor ran: skip | once | all
    overlap: str = "skip"  # the previous flow still live: skip | queue | cancel_previous
    jitter_s: float = 0.0  # each firing delayed by up to this much (the same for every supervisor)


def parse_schedule(raw: object, fail: Any) -> ScheduleSpec:
    """The `[schedule]` table, or `fail(msg)` (which returns the SpecError to raise)."""
    if not isinstance(raw, dict):
        raise fail("schedule: must be a table ([schedule])")
    unknown = set(raw) - SCHEDULE_KEYS
    if unknown:
        raise fail(f"schedule: unknown field {quoted(sorted(unknown)[0])} (known: {', '.join(sorted(SCHEDULE_KEYS))})")
    cron = raw.get("cron")
    if not isinstance(cron, str) or not cron.strip():
        raise fail("schedule: cron: required, 5 fields such as \"0 2 * * *\"")
    cron = " ".join(cron.split())
    if len(cron.split()) != 5:
        raise fail(f"schedule: cron: {quoted(cron)} must have 5 fields (minute hour day month weekday)")
    tz = raw.get("timezone", "UTC")
    if not isinstance(tz, str) or not valid_timezone(tz):
        raise fail(f"schedule: timezone: {quoted(tz)} is not an IANA time zone (e.g. \"Europe/Berlin\")")
    try:
        next(CronSim(cron, datetime.now(ZoneInfo(tz))))
    except (CronSimError, StopIteration) as exc:
        raise fail(f"schedule: cron: {quoted(cron)}: {str(exc) or 'never fires'}") from None
    missed = raw.get("missed", "once")
    if missed not in MISSED_POLICIES:
        raise fail(f"schedule: missed: {quoted(missed)} is not one of {', '.join(MISSED_POLICIES)}")
    overlap = raw.get("overlap", "skip")
    if overlap not in OVERLAP_POLICIES:
        raise fail(f"schedule: overlap: {quoted(overlap)} is not one of {', '.join(OVERLAP_POLICIES)}")
    jitter = 0.0
    if "jitter" in raw:
        try:
            jitter = parse_task_duration(raw["jitter"])
        except ValueError as exc:
            raise fail(f"schedule: jitter: {exc}") from None
        if jitter > MAX_JITTER_S:
            raise fail("schedule: jitter: at most 24h")
    return ScheduleSpec(cron=cron, timezone=tz, missed=missed, overlap=overlap, jitter_s=jitter)


def valid_timezone(name: str) -> bool:
    if not name or "\x00" in name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def firings_after(cron: str, tz: str, after_ms: int) -> Iterator[int]:
    """The schedule's firing times strictly after `after_ms`, in UTC milliseconds."""
    start = datetime.fromtimestamp(after_ms / 1000, UTC).astimezone(ZoneInfo(tz))
    for when in CronSim(cron, start):
        yield int(when.timestamp() * 1000)


def next_firing(cron: str, tz: str, after_ms: int) -> int:
    return next(firings_after(cron, tz, after_ms))


def jitter_ms(schedule_id: str, fire_at: int, jitter_s: float) -> int:
    """A delay in [0, jitter) that every supervisor computes alike for one firing."""
    if jitter_s <= 0:
        return 0
    digest = hashlib.sha256(f"{schedule_id}:{fire_at}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, int(jitter_s * 1000))


def describe(cron: str) -> str:
    """A human reading of the expression ("At 02:00 AM"), or "" when the library has none."""
    try:
        from cron_descriptor import get_description

        return str(get_description(cron))
    except Exception:  # noqa: BLE001 - a description is a courtesy, never a reason to fail
        return ""
