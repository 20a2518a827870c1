"""The pulse: events made into per-minute series (pure), read by id span from a real ledger,
drawn as sparklines on a screen one key away, and kept up to date as the ledger changes."""

from __future__ import annotations

import pytest
from board_support import START_MS, make_app, screen_text
from ledger_testkit import ManualClock, run
from pulse_support import MINUTE, busy_hour, job

from openclaw_board.board.screens.pulse import PulseScreen
from openclaw_board.board.view.pulse import ALL, Transition, bucket, window_start
from openclaw_board.ledger import Ledger
from openclaw_board.ledger.pulse import first_event_id_from, pulse_events, queued_by_runtime

NOW = START_MS + 59 * MINUTE + 30_000  # half a minute into the 60th minute of the hour


# -- the series, a pure function ------------------------------------------------------------

def test_finished_and_failed_fall_in_their_minute_and_old_events_are_left_out() -> None:
    start = window_start(NOW)
    events = [Transition(start - 1, "cli", "running", "succeeded"),  # before the hour
              Transition(start, "cli", "running", "succeeded"),
              Transition(start + 59_999, "cli", "running", "failed"),
              Transition(start + 3 * MINUTE, "cli", "running", "timed_out"),
              Transition(start + 3 * MINUTE, "cli", "running", "cancelled"),
              Transition(NOW + 5_000, "cli", "running", "lost")]  # a writer's clock a little ahead
    (cli,) = bucket(events, {}, NOW).series
    assert len(cli.finished) == 60
    assert cli.finished[:4] == (2, 0, 0, 2) and cli.finished[-1] == 1 and sum(cli.finished) == 5
    assert cli.failed[:4] == (1, 0, 0, 1) and cli.failed[-1] == 1  # a cancel is not a failure


def test_queue_depth_is_now_undone_minute_by_minute() -> None:
    start = window_start(NOW)
    events = [Transition(start + 10 * MINUTE, "llm", None, "queued"),
              Transition(start + 10 * MINUTE, "llm", None, "queued"),
              Transition(start + 20 * MINUTE, "llm", "queued", "running"),
              Transition(start + 30 * MINUTE, "llm", None, "awaiting_approval"),  # waits: in the queue
              Transition(start + 40 * MINUTE, "llm", "awaiting_approval", "queued")]  # approved: still in it
    (llm,) = bucket(events, {"llm": 3}, NOW).series
    assert llm.queued[59] == 3 and llm.queued[40] == 3 and llm.queued[39] == 3
    assert llm.queued[30] == 3 and llm.queued[29] == 2
    assert llm.queued[20] == 2 and llm.queued[19] == 3 and llm.queued[10] == 3 and llm.queued[9] == 1
    assert llm.queued[0] == 1


def test_several_runtimes_come_after_their_sum() -> None:
    start = window_start(NOW)
    events = [Transition(start, "cli", "running", "succeeded"), Transition(start, "llm", "running", "failed")]
    pulse = bucket(events, {"cli": 0, "gpu": 2}, NOW)
    assert [s.runtime for s in pulse.series] == [ALL, "cli", "gpu", "llm"]
    assert pulse.series[0].finished[0] == 2 and pulse.series[0].failed[0] == 1 and pulse.series[0].queued[-1] == 2
    assert bucket([], {}, NOW).series == ()


# -- the reads: a span of ids, found by the primary key ------------------------------------------

def test_the_span_of_the_hour_is_found_by_id_and_read_with_runtimes(ledger_url: str) -> None:
    clock = ManualClock(START_MS)
    with Ledger(ledger_url, clock=clock) as led:
        assert first_event_id_from(led, 0) <= 1  # an empty log: from its next id on
        led.submit(job("old", "cli"))
        run_and_finish(led, "succeeded")
        boundary = led.last_event_id()
        clock.advance(2 * 3_600_000)
        led.submit(job("new", "llm"))
        run_and_finish(led, "failed")
        led.submit(job("waits", "llm"))
        assert first_event_id_from(led, clock.t - 1000) == boundary + 1
        assert first_event_id_from(led, clock.t + 1) == led.last_event_id() + 1
        assert first_event_id_from(led, 0) <= 1  # everything
        events = pulse_events(led, boundary, led.last_event_id())
        assert [(e.runtime, e.src, e.dst) for e in events] == [
            ("llm", None, "queued"), ("llm", "queued", "running"), ("llm", "running", "failed"),
            ("llm", None, "queued")]
        assert pulse_events(led, 5, 5) == []
        assert queued_by_runtime(led) == {"llm": 1}


def run_and_finish(led: Ledger, status: str) -> None:
    task = run(led)
    led.finish(task.task_id, status, supervisor_id="sup-1", exit_code=0 if status == "succeeded" else 1)


# -- the screen -----------------------------------------------------------------------------------


def _series(app, runtime: str):
    screen = app.screen
    assert isinstance(screen, PulseScreen) and screen.pulse is not None
    return next(s for s in screen.pulse.series if s.runtime == runtime)


@pytest.mark.anyio
async def test_p_opens_the_pulse_esc_and_q_close_it(sqlite_url: str) -> None:
    end = busy_hour(sqlite_url)
    app = make_app(sqlite_url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.settled()
        await pilot.press("P")
        await app.settled()
        await pilot.pause()
        text = screen_text(app)
        assert "Pulse" in text and "all runtimes" in text and "cli" in text and "llm" in text
        assert "▁" in text and "finished" in text and "queued" in text
        every = _series(app, ALL)
        with Ledger(sqlite_url) as led:  # the same figures from the task rows, not the event log
            ended = [t for t in led.list_tasks(all_attempts=True)
                     if t.ended_at is not None and t.ended_at >= window_start(end)]
            assert every.queued[-1] == led.task_pressure()["queued"] > 0
        assert sum(every.finished) == len(ended) > 100
        assert sum(every.failed) == len([t for t in ended if t.status == "failed"]) > 10
        assert max(every.queued) > every.queued[0]  # the queue grew over the hour
        cli = _series(app, "cli")
        assert sum(cli.finished) == len([t for t in ended if t.runtime == "cli"])
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PulseScreen)
        await pilot.press("P")
        await app.settled()
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, PulseScreen) and app.is_running  # q closes, it does not quit


@pytest.mark.anyio
async def test_the_pulse_follows_the_ledger(sqlite_url: str) -> None:
    end = busy_hour(sqlite_url, minutes=5)
    app = make_app(sqlite_url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.settled()
        await pilot.press("P")
        await app.settled()
        await pilot.pause()
        before = _series(app, "cli")
        with Ledger(sqlite_url, clock=lambda: end) as led:
            for _ in range(3):
                led.submit(job("late", "cli"))
            run_and_finish(led, "failed")
        assert app.service is not None
        app.service.poke()  # what the file watch does on a live board
        await app.settled()
        await pilot.pause()
        await app.settled()
        after = _series(app, "cli")
        assert after.finished[-1] == before.finished[-1] + 1 and after.failed[-1] == before.failed[-1] + 1
        assert after.queued[-1] == before.queued[-1] + 2


@pytest.mark.anyio
async def test_a_ledger_without_work_says_so(sqlite_url: str) -> None:
    with Ledger(sqlite_url):
        pass
    app = make_app(sqlite_url, START_MS)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.settled()
        await pilot.press("P")
        await app.settled()
        await pilot.pause()
        assert "nothing finished or queued in the last hour" in screen_text(app)
