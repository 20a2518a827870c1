"""Ledgers for the pulse and schedules tests: an hour of work at fixed times, and schedules."""

from __future__ import annotations

from board_support import START_MS
from ledger_testkit import ManualClock, run

from openclaw_board.ledger import Ledger, parse_spec

MINUTE = 60_000


def job(goal: str, runtime: str, **task: object):
    return parse_spec({"goal": goal, "tasks": [{"label": "t", "command": ["true"], "runtime": runtime, **task}]})


def busy_hour(url: str, minutes: int = 60) -> int:
    """An hour of work, minute by minute: a few tasks queued on "cli" and "llm", two of them run
    and finished each minute (every seventh fails), so the queue grows and drains; a few wait
    for an approval. Returns
    the moment after it (half a minute into the next minute)."""
    clock = ManualClock(START_MS)
    with Ledger(url, clock=clock) as led:
        finished = 0
        for m in range(minutes):
            clock.t = START_MS + m * MINUTE
            for i in range(1 + (m // 10) % 3 + (m % 4 == 0)):
                led.submit(job(f"job {m}.{i}", "llm" if (m + i) % 3 == 0 else "cli"))
            if m % 20 == 10:  # one waits for an approval that never comes: in the queue all along
                led.submit(job(f"approve {m}", "llm", requires_approval=True))
            clock.t += MINUTE // 2
            for _ in range(2):
                if led.task_pressure().get("queued", 0) == 0:
                    break
                task = run(led)
                finished += 1
                failed = finished % 7 == 0
                led.finish(task.task_id, "failed" if failed else "succeeded", supervisor_id="sup-1",
                           exit_code=1 if failed else 0)
        return START_MS + minutes * MINUTE + MINUTE // 2


def two_schedules(url: str) -> tuple[int, str, str]:
    """A nightly schedule that ran once (its flow failed) and a paused hourly one:
    (the moment after, the nightly's id, the hourly's id)."""
    clock = ManualClock(START_MS)
    with Ledger(url, clock=clock) as led:
        nightly = led.add_schedule(parse_spec({
            "goal": "Nightly lead enrichment", "label": "nightly-leads",
            "schedule": {"cron": "0 2 * * *", "timezone": "UTC"},
            "tasks": [{"label": "enrich", "command": ["true"]}]}))
        hourly = led.add_schedule(parse_spec({
            "goal": "Hourly report", "schedule": {"cron": "15 * * * *", "timezone": "Europe/Paris"},
            "tasks": [{"label": "report", "command": ["true"]}]}))
        from openclaw_board.ledger.scheduling import run_now

        clock.advance(5 * MINUTE)
        run_now(led, nightly.schedule_id)
        task = run(led)
        led.finish(task.task_id, "failed", supervisor_id="sup-1", exit_code=1)
        led.pause_schedule(hourly.schedule_id)
        return clock.advance(2 * MINUTE), nightly.schedule_id, hourly.schedule_id
