"""What a schedule must do now: a pure function of its facts and the time, applied by
`scheduling.fire_due` in one transaction.

A firing is *due* once its time (plus its jitter) has passed. A due firing noticed within
LATE_AFTER_MS of its time is on time; later than that, no supervisor was running when it
fell, and the schedule's `missed` policy decides: `skip` runs none of them (each leaves a
`missed` event), `once` runs the latest one (the others leave `missed` events), `all` runs
every one of them (at most MAX_CATCHUP; older ones leave `missed` events). With `skip` and
`once`, an on-time firing runs and the late ones before it are only recorded as missed.

Whether the previous flow of the schedule is still live is judged by the caller, with the
`overlap` policy (`overlap_action`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .schedule_spec import firings_after, jitter_ms

LATE_AFTER_MS = 60_000  # a supervisor checks every second; a minute late means none was running
MAX_CATCHUP = 100  # firings run at once by missed = "all"
MAX_SCAN = 10_000  # due firings looked at one by one; beyond, they are counted, not listed


@dataclass(frozen=True)
class ScheduleFacts:
    schedule_id: str
    cron: str
    timezone: str
    missed: str
    jitter_s: float
    next_fire_at: int  # the earliest firing not handled yet (itself a firing time)


@dataclass(frozen=True)
class Due:
    fire: tuple[int, ...]  # firing times to make flows for, oldest first
    missed: tuple[int, ...]  # firing times recorded as missed, oldest first
    missed_more: bool  # more firings were missed than are listed (a schedule down for ages)
    next_fire_at: int  # the first firing after those handled now

    @property
    def empty(self) -> bool:
        return not self.fire and not self.missed and not self.missed_more


def due_at(facts: ScheduleFacts, fire_at: int) -> int:
    return fire_at + jitter_ms(facts.schedule_id, fire_at, facts.jitter_s)


def plan(facts: ScheduleFacts, now: int) -> Due | None:
    """The firings due at `now`, or None when the next one has not come yet."""
    if due_at(facts, facts.next_fire_at) > now:
        return None
    due: list[int] = [facts.next_fire_at]
    later = firings_after(facts.cron, facts.timezone, facts.next_fire_at)
    following = next(later)
    while due_at(facts, following) <= now and len(due) < MAX_SCAN:
        due.append(following)
        following = next(later)
    more = due_at(facts, following) <= now
    if more:  # down for ages: do not walk every minute of it, go to the first firing after now
        later = firings_after(facts.cron, facts.timezone, now - int(facts.jitter_s * 1000) - 1)
        following = next(later)
        while due_at(facts, following) <= now:
            following = next(later)
    late = [t for t in due if now - due_at(facts, t) > LATE_AFTER_MS]
    on_time = [t for t in due if now - due_at(facts, t) <= LATE_AFTER_MS]
    fire: list[int]
    if facts.missed == "all":
        fire, missed = due[-MAX_CATCHUP:], due[:-MAX_CATCHUP]
    elif on_time:
        fire, missed = on_time[-1:], late + on_time[:-1]
    elif facts.missed == "skip":
        fire, missed = [], late
    else:  # once
        fire, missed = late[-1:], late[:-1]
    return Due(tuple(fire), tuple(missed), more, following)


def overlap_action(policy: str, previous_live: bool) -> str:
    """What a firing does about the schedule's previous flow: "fire", "skip", "queue" or
    "cancel_previous" (cancel it, then fire)."""
    if not previous_live:
        return "fire"
    return {"skip": "skip", "queue": "queue", "cancel_previous": "cancel_previous"}[policy]
