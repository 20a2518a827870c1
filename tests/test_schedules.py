"""Schedules: firings become flows, exactly once each; missed and overlap policies do what they say."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import peewee as pw
import pytest
from ledger_testkit import ManualClock

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.ledger.schedule_plan import ScheduleFacts, plan
from openclaw_board.ledger.schedule_spec import firings_after, jitter_ms, next_firing
from openclaw_board.ledger.scheduling import fire_due, run_now
from openclaw_board.supervisor import Supervisor

HOUR = 3_600_000
DAY = 24 * HOUR


def ms(text: str, tz: str = "UTC") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def nightly(missed: str = "once", overlap: str = "skip", cron: str = "0 2 * * *", command: list[str] | None = None,
            **extra: object):
    return parse_spec({"goal": "nightly", "schedule": {"cron": cron, "missed": missed, "overlap": overlap, **extra},
                       "tasks": [{"label": "t", "command": command or ["true"]}]})


# -- the plan, a pure function -------------------------------------------------------------

def facts(next_fire_at: int, missed: str = "once", cron: str = "0 2 * * *", jitter_s: float = 0.0) -> ScheduleFacts:
    return ScheduleFacts("s1", cron, "UTC", missed, jitter_s, next_fire_at)


@pytest.mark.parametrize(("missed", "now", "fire", "missed_at"), [
    # nothing due yet
    ("once", "2026-12-01T01:59:59", None, None),
    # on time (within a minute): it runs
    ("skip", "2026-12-01T02:00:30", ["2026-12-01T02:00"], []),
    # late: no supervisor ran when it fell
    ("skip", "2026-12-01T02:05", [], ["2026-12-01T02:00"]),
    ("once", "2026-12-01T02:05", ["2026-12-01T02:00"], []),
    # three nights down
    ("skip", "2026-12-03T12:00", [], ["2026-12-01T02:00", "2026-12-02T02:00", "2026-12-03T02:00"]),
    ("once", "2026-12-03T12:00", ["2026-12-03T02:00"], ["2026-12-01T02:00", "2026-12-02T02:00"]),
    ("all", "2026-12-03T12:00", ["2026-12-01T02:00", "2026-12-02T02:00", "2026-12-03T02:00"], []),
    # down two nights, back in time for the third: it runs, the others were missed
    ("once", "2026-12-03T02:00:10", ["2026-12-03T02:00"], ["2026-12-01T02:00", "2026-12-02T02:00"]),
])
def test_the_plan_of_a_nightly_schedule(missed: str, now: str, fire: list[str] | None,
                                        missed_at: list[str] | None) -> None:
    due = plan(facts(ms("2026-12-01T02:00"), missed), ms(now))
    if fire is None:
        assert due is None
        return
    assert due is not None
    assert list(due.fire) == [ms(t) for t in fire]
    assert list(due.missed) == [ms(t) for t in missed_at or []]
    assert due.next_fire_at > ms(now) and due.next_fire_at == next_firing("0 2 * * *", "UTC", ms(now))


def test_a_schedule_down_for_years_of_minutes_is_not_walked_minute_by_minute() -> None:
    due = plan(facts(ms("2020-01-01T00:00"), "once", cron="* * * * *"), ms("2026-12-01T00:00:30"))
    assert due is not None and due.missed_more and len(due.fire) == 1
    assert due.next_fire_at == ms("2026-12-01T00:01")


def test_clocks_going_forward_and_back_in_the_schedules_zone() -> None:
    berlin = "Europe/Berlin"
    # 02:30 does not exist on 2026-03-29 in Berlin: that firing happens at 03:00 local.
    spring = list(_take(firings_after("30 2 * * *", berlin, ms("2026-03-28T00:00", berlin)), 3))
    assert spring == [ms("2026-03-28T02:30", berlin), ms("2026-03-29T03:00", berlin), ms("2026-03-30T02:30", berlin)]
    # 02:30 happens twice on 2026-10-25: it fires once.
    autumn = list(_take(firings_after("30 2 * * *", berlin, ms("2026-10-24T12:00", berlin)), 2))
    assert autumn[1] - autumn[0] == DAY + HOUR


def test_jitter_is_the_same_for_every_supervisor_and_within_its_bound() -> None:
    delays = {jitter_ms("s1", t, 60) for t in range(0, 100 * 60_000, 60_000)}
    assert all(0 <= d < 60_000 for d in delays) and len(delays) > 50
    assert jitter_ms("s1", 123, 60) == jitter_ms("s1", 123, 60)
    assert plan(facts(ms("2026-12-01T02:00"), jitter_s=3600), ms("2026-12-01T02:00")) is None


def _take(it, n):  # type: ignore[no-untyped-def]
    for _ in range(n):
        yield next(it)


# -- firing, on the real ledger ---------------------------------------------------------------

@pytest.fixture
def past(ledger_url: str) -> ManualClock:
    return ManualClock(start=ms("2026-11-28T12:00"))


def made(ledger: Ledger, schedule_id: str) -> list[tuple[int, str]]:
    return [(f.fire_at, f.status) for f in reversed(ledger.schedule_flows(schedule_id, 100))]


def kinds(ledger: Ledger, schedule_id: str) -> list[str]:
    return [e.kind for e in ledger.schedule_events(schedule_id, 1000)]


@pytest.mark.parametrize(("missed", "flows", "missed_events"), [("skip", 0, 3), ("once", 1, 2), ("all", 3, 0)])
def test_a_supervisor_back_after_three_nights_does_what_missed_says(
        ledger_url: str, past: ManualClock, missed: str, flows: int, missed_events: int) -> None:
    with Ledger(ledger_url, clock=past) as then:
        sid = then.add_schedule(nightly(missed)).schedule_id  # three nights ago; no supervisor since
    today = ManualClock(start=ms("2026-12-01T12:00"))
    Supervisor(ledger_url, poll_interval_s=0.05, clock=today).run(until_idle=True)
    with Ledger(ledger_url, clock=today) as ledger:
        got = made(ledger, sid)
        nights = [ms("2026-11-29T02:00"), ms("2026-11-30T02:00"), ms("2026-12-01T02:00")]
        assert [at for at, _ in got] == (nights[-flows:] if flows else [])
        assert all(status == "succeeded" for _, status in got)  # the flows really ran
        assert kinds(ledger, sid).count("missed") == missed_events
        row = ledger.get_schedule(sid)
        assert row.next_fire_at > ledger.now() and row.next_fire_at == next_firing("0 2 * * *", "UTC", ledger.now())


def test_overlap_skip_queue_and_cancel_previous(ledger_url: str, past: ManualClock) -> None:
    with Ledger(ledger_url, clock=past) as led:
        ids = {p: led.add_schedule(nightly(overlap=p, cron="0 * * * *")).schedule_id
               for p in ("skip", "queue", "cancel_previous")}
        past.t = ms("2026-11-28T13:00:05")
        fire_due(led)  # the first firing of each: nothing before it
        first = {p: led.get_schedule(s).last_flow_id for p, s in ids.items()}
        past.t = ms("2026-11-28T14:00:05")
        fire_due(led)  # the first flows are still queued (no supervisor): live
        assert [f for f, _ in made(led, ids["skip"])] == [ms("2026-11-28T13:00")]
        assert kinds(led, ids["skip"])[-1] == "skipped"
        assert led.get_schedule(ids["queue"]).pending_fire_at == ms("2026-11-28T14:00")
        assert kinds(led, ids["queue"])[-1] == "queued"
        assert led.get_flow(first["cancel_previous"]).status == "cancelled"
        assert [s for _, s in made(led, ids["cancel_previous"])] == ["cancelled", "queued"]
        # The queued firing runs once its previous flow has ended.
        led.cancel_flow(first["queue"])
        fire_due(led)
        assert [f for f, _ in made(led, ids["queue"])] == [ms("2026-11-28T13:00"), ms("2026-11-28T14:00")]
        assert led.get_schedule(ids["queue"]).pending_fire_at is None


def test_the_database_refuses_a_second_flow_for_one_firing(ledger: Ledger) -> None:
    sid = ledger.add_schedule(nightly()).schedule_id
    spec = parse_spec({"goal": "g", "tasks": [{"label": "t", "command": ["true"]}]})
    ledger.submit(spec, firing=(sid, 1000))
    with pytest.raises(pw.IntegrityError):
        ledger.submit(spec, firing=(sid, 1000))


@pytest.mark.postgres
def test_supervisors_firing_at_once_make_one_flow_per_firing(pg_url: str, home: Path) -> None:
    """Four hosts' supervisors catch up 60 missed hourly firings at the same moment."""
    clock = ManualClock(start=ms("2026-11-28T12:00"))
    with Ledger(pg_url, clock=clock) as led:
        sid = led.add_schedule(nightly("all", cron="0 * * * *")).schedule_id
    clock.t = ms("2026-12-01T00:30")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def host() -> None:
        try:
            with Ledger(pg_url, clock=clock) as mine:
                barrier.wait()
                for _ in range(3):
                    fire_due(mine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=host) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with Ledger(pg_url) as led:
        fired = [at for at, _ in made(led, sid)]
        assert len(fired) == len(set(fired)) == 60  # 13:00 on the 28th to 00:00 on the 1st, hourly; each once
        assert kinds(led, sid).count("fired") == 60


def test_paused_schedules_do_not_fire_and_resume_from_now(ledger_url: str, past: ManualClock) -> None:
    with Ledger(ledger_url, clock=past) as led:
        sid = led.add_schedule(nightly()).schedule_id
        led.pause_schedule(sid)
        past.t = ms("2026-12-01T12:00")
        assert fire_due(led) == []
        row = led.resume_schedule(sid)
        assert row.next_fire_at == ms("2026-12-02T02:00")
        assert fire_due(led) == [] and "missed" not in kinds(led, sid)
        flow_id = run_now(led, sid)
        assert led.get_flow(flow_id).fire_at == ms("2026-12-01T12:00")


# -- the command line -------------------------------------------------------------------------

def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", "--db", url, *args], capture_output=True,
                          text=True, timeout=60)


def test_schedules_from_the_command_line(sqlite_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "nightly.toml"
    spec.write_text('goal = "Nightly"\n[schedule]\ncron = "0 2 * * *"\ntimezone = "Europe/Berlin"\n'
                    '[[tasks]]\nlabel = "t"\ncommand = ["true"]\n')
    submitted = cli(sqlite_url, "submit", str(spec))
    assert submitted.returncode == 0, submitted.stderr
    sid = submitted.stdout.strip()
    assert "At 02:00 AM" in submitted.stderr and "next firing" in submitted.stderr
    listed = json.loads(cli(sqlite_url, "schedules", "list", "--json").stdout)
    assert listed["count"] == 1 and listed["schedules"][0]["schedule_id"] == sid
    assert listed["schedules"][0]["timezone"] == "Europe/Berlin" and listed["schedules"][0]["missed"] == "once"
    assert cli(sqlite_url, "schedules", "pause", sid[:8]).returncode == 0
    again = cli(sqlite_url, "schedules", "pause", sid[:8])
    assert again.returncode == 1 and again.stderr.startswith("error: ") and "already paused" in again.stderr
    assert cli(sqlite_url, "schedules", "resume", sid[:8]).returncode == 0
    flow_id = cli(sqlite_url, "schedules", "run-now", sid[:8]).stdout.strip()
    shown = json.loads(cli(sqlite_url, "schedules", "show", sid[:8], "--json").stdout)
    assert shown["flows"][0]["flow_id"] == flow_id
    assert [e["kind"] for e in shown["events"]] == ["created", "paused", "resumed", "run_now"]
    assert cli(sqlite_url, "schedules", "remove", sid[:8]).returncode == 0
    gone = cli(sqlite_url, "schedules", "show", sid[:8])
    assert gone.returncode == 1 and gone.stderr.startswith("error: no schedule")


def test_a_bad_schedule_is_one_line_and_nothing_is_kept(sqlite_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('goal = "g"\n[schedule]\ncron = "0 25 * * *"\n[[tasks]]\nlabel = "t"\ncommand = ["true"]\n')
    proc = cli(sqlite_url, "submit", str(spec))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "cron" in proc.stderr and "hour" in proc.stderr
    assert json.loads(cli(sqlite_url, "schedules", "list", "--json").stdout)["count"] == 0


def test_audit_reports_a_schedule_whose_last_three_firings_failed(ledger_url: str, past: ManualClock) -> None:
    with Ledger(ledger_url, clock=past) as then:
        sid = then.add_schedule(nightly("all", command=["false"])).schedule_id
    today = ManualClock(start=ms("2026-12-01T12:00"))
    Supervisor(ledger_url, poll_interval_s=0.05, clock=today).run(until_idle=True)
    with Ledger(ledger_url, clock=today) as ledger:
        assert [status for _, status in made(ledger, sid)] == ["failed"] * 3
        found = [f for f in ledger.audit() if f.code == "schedule_failing"]
        assert len(found) == 1 and found[0].severity == "error" and sid[:8] in found[0].message
        run_now(ledger, sid)  # a fourth flow, not failed yet: the last three are no longer all failures
        assert not [f for f in ledger.audit() if f.code == "schedule_failing"]


# -- approvals that do not wait forever -------------------------------------------------------

def test_an_approval_not_given_in_time_is_a_denial_with_an_event_saying_so(ledger_url: str) -> None:
    hours_ago = ManualClock(start=int(time.time() * 1000) - 3 * HOUR)
    with Ledger(ledger_url, clock=hours_ago) as then:
        _, ids = then.submit(parse_spec({"goal": "send the campaign", "tasks": [
            {"label": "send", "command": ["true"], "requires_approval": True, "approval_timeout": "2h"},
            {"label": "later", "command": ["true"], "requires_approval": True, "approval_timeout": "4h"}]}))
    Supervisor(ledger_url, poll_interval_s=0.05).run(until_idle=True)
    with Ledger(ledger_url) as ledger:
        send, later = ledger.get_task(ids["send"]), ledger.get_task(ids["later"])
        assert (send.status, later.status) == ("cancelled", "awaiting_approval")
        assert send.error == "approval timed out: nobody approved it within 2h00m"
        last = ledger.task_events(ids["send"])[-1]
        assert (last.kind, last.to_status) == ("denied", "cancelled") and last.actor.startswith("supervisor:")


def test_an_approval_timeout_needs_an_approval_and_a_duration() -> None:
    from openclaw_board.ledger import SpecError

    with pytest.raises(SpecError, match="approval_timeout: only with requires_approval = true"):
        parse_spec({"goal": "g", "tasks": [{"label": "t", "command": ["true"], "approval_timeout": "2h"}]}, "s.toml")
    with pytest.raises(SpecError, match="approval_timeout: not a duration"):
        parse_spec({"goal": "g", "tasks": [{"label": "t", "command": ["true"], "requires_approval": True,
                                            "approval_timeout": "soon"}]}, "s.toml")
