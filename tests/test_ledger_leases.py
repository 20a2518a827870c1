"""The ledger's side of leases and recovery, on an injected clock: claims put
back in the queue when they never started, results found on disk instead of `lost`, results
that arrive late, and leases judged on the database's clock."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from ledger_testkit import ManualClock, dump, kinds, spec, statuses

from openclaw_board.ledger import IllegalTransition, Ledger, StaleOwner
from openclaw_board.ledger import clock as clockmod


class Result(NamedTuple):
    status: str
    exit_code: int | None
    error: str | None = None
    summary: str | None = None


OK = Result("succeeded", 0, None, "all done")


def sup(led: Ledger, host: str = "host-a", lease_ms: int = 15_000) -> str:
    return led.register_supervisor(host, 100, 1, lease_ms=lease_ms).supervisor_id


# -- requeue_unstarted ----------------------------------------------------------------------

def test_a_claim_records_its_run_dir_and_a_requeue_puts_the_same_attempt_back(led: Ledger) -> None:
    sid = sup(led)
    flow_id, ids = led.submit(spec({"label": "a"}))
    task = led.claim_next(sid, "host-a", run_root="/state/runs/").task
    assert task.run_dir == f"/state/runs/{ids['a']}" and task.pid is None
    back = led.requeue_unstarted(ids["a"], sid, "its claimant died first", keep_run_dir=False)
    assert (back.status, back.attempt, back.supervisor_id, back.host, back.started_at, back.run_dir) == (
        "queued", 1, None, None, None, None)
    (ev,) = [e for e in led.task_events(ids["a"]) if e.kind == "requeued"]
    assert (ev.from_status, ev.to_status, ev.detail) == ("running", "queued", "its claimant died first")
    assert led.get_flow(flow_id).status == "queued"
    assert len(led.flow_attempts(flow_id)) == 1
    again = led.claim_next(sid, "host-a", run_root="/state/runs").task
    assert (again.task_id, again.run_dir) == (ids["a"], f"/state/runs/{ids['a']}")


def test_a_withdrawn_claims_directory_is_never_named_again(led: Ledger, clock: ManualClock) -> None:
    sid = sup(led)
    _, ids = led.submit(spec({"label": "a"}))
    first = led.claim_next(sid, "host-a", run_root="/r").task
    kept = led.requeue_unstarted(ids["a"], sid, "withdrawn", keep_run_dir=True)
    assert kept.run_dir == first.run_dir == f"/r/{ids['a']}"
    clock.advance(10)
    second = led.claim_next(sid, "host-a", run_root="/r").task
    assert second.run_dir == f"/r/{ids['a']}.{second.started_at}" != first.run_dir


def test_requeue_refused_once_a_process_was_recorded_or_by_another_owner(led: Ledger) -> None:
    sid, other = sup(led), sup(led)
    _, ids = led.submit(spec({"label": "a"}, {"label": "b"}))
    a = led.claim_next(sid, "host-a", run_root="/r").task
    b = led.claim_next(sid, "host-a", run_root="/r").task
    led.record_process(a.task_id, sid, 4242, 1, a.run_dir)
    before = dump(led)
    with pytest.raises(IllegalTransition, match="recorded process"):
        led.requeue_unstarted(a.task_id, sid, "no", keep_run_dir=False)
    with pytest.raises(StaleOwner):
        led.requeue_unstarted(b.task_id, other, "no", keep_run_dir=False)
    assert dump(led) == before


def test_a_claim_whose_cancel_was_asked_is_cancelled_not_requeued(led: Ledger) -> None:
    sid = sup(led)
    _, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}))
    led.claim_next(sid, "host-a", run_root="/r")
    led.cancel_task(ids["a"])
    task = led.requeue_unstarted(ids["a"], sid, "claimant died", keep_run_dir=False)
    assert (task.status, task.error) == ("cancelled", "cancelled by operator (before it started)")
    assert statuses(led, task.flow_id) == {"a": "cancelled", "b": "cancelled"}


# -- results found on disk, and results that arrive late -------------------------------------

def test_expiry_settles_a_run_with_the_result_found_on_disk_and_loses_the_rest(
        led: Ledger, clock: ManualClock) -> None:
    judge, dead = sup(led, "host-a"), sup(led, "host-b", lease_ms=3000)
    _, ids = led.submit(spec({"label": "done", "retries": 1}, {"label": "gone", "retries": 1}))
    for _ in ids:
        task = led.claim_next(dead, "host-b", run_root="/r").task
        led.record_process(task.task_id, dead, 4242, 1, task.run_dir)
    clock.advance(3001)
    led.heartbeat(judge)
    (expired,) = led.expire_leases("host-a", "supervisor:judge",
                                   known_result=lambda t: OK if t.label == "done" else None)
    assert (expired.supervisor.supervisor_id, expired.lost, expired.finished) == (dead, [ids["gone"]], [ids["done"]])
    done = led.get_task(ids["done"])
    assert (done.status, done.exit_code, done.terminal_summary) == ("succeeded", 0, "all done")
    (ev,) = [e for e in led.task_events(ids["done"]) if e.kind == "finished"]
    assert ev.actor == "supervisor:judge" and ev.detail.startswith("exit 0; result read from its exit file: ")
    assert len(led.attempts_of(done)) == 1  # no retry of a run that finished
    assert [t.status for t in led.attempts_of(led.get_task(ids["gone"]))] == ["lost", "queued"]


def test_a_late_success_is_recorded_and_withdraws_the_retry_that_has_not_started(
        led: Ledger, clock: ManualClock) -> None:
    sid = sup(led)
    flow_id, ids = led.submit(spec({"label": "a", "retries": 1, "retry_backoff": "5m"},
                                   {"label": "b", "after": ["a"]}))
    led.claim_next(sid, "host-a", run_root="/r")
    led.mark_lost(ids["a"], "owner supervisor x on host host-a missed its lease")
    retry = led.attempts_of(led.get_task(ids["a"]))[1]
    assert retry.status == "queued" and led.claim_next(sid, "host-a").task is None  # its backoff runs
    clock.advance(1000)
    assert led.record_late_result(ids["a"], OK, "supervisor:late") == retry.task_id

    first, second = led.attempts_of(led.get_task(ids["a"]))
    assert (first.status, first.exit_code, first.terminal_summary) == ("lost", 0, "all done")
    (late,) = [e for e in led.task_events(ids["a"]) if e.kind == "late_result"]
    assert late.detail == "its run ended exit 0, succeeded, after it was declared lost"
    assert (late.from_status, late.to_status) == (None, None)  # a terminal status never changes
    assert (second.status, second.started_at, second.exit_code, second.terminal_summary) == (
        "succeeded", None, None, "all done")
    assert second.ended_at is not None and second.is_latest
    assert kinds(led, second.task_id) == ["auto_retry", "withdrawn"]
    (withdrawn,) = [e for e in led.task_events(second.task_id) if e.kind == "withdrawn"]
    assert withdrawn.to_status == "succeeded" and withdrawn.detail.startswith(f"never ran: attempt 1 ({ids['a'][:8]})")
    # The flow follows the true outcome: its dependent runs now.
    assert led.claim_next(sid, "host-a").task.task_id == ids["b"]
    led.finish(ids["b"], "succeeded", supervisor_id=sid, exit_code=0)
    assert led.get_flow(flow_id).status == "succeeded"
    # Once per attempt.
    before = dump(led)
    assert led.record_late_result(ids["a"], OK, "supervisor:again") is None
    assert dump(led) == before


def test_a_late_failure_keeps_its_retry(led: Ledger) -> None:
    sid = sup(led)
    _, ids = led.submit(spec({"label": "a", "retries": 1}))
    led.claim_next(sid, "host-a")
    led.mark_lost(ids["a"], "gone")
    assert led.record_late_result(ids["a"], Result("failed", 3, "exit 3"), "supervisor:late") is None
    first, second = led.attempts_of(led.get_task(ids["a"]))
    assert (first.status, first.exit_code, second.status) == ("lost", 3, "queued")
    assert [e.detail for e in led.task_events(ids["a"]) if e.kind == "late_result"] == [
        "its run ended exit 3, failed (exit 3), after it was declared lost"]


def test_a_late_result_leaves_an_operators_retry_and_a_started_retry_alone(led: Ledger) -> None:
    sid = sup(led)
    _, ids = led.submit(spec({"label": "mine"}, {"label": "auto", "retries": 1, "retry_backoff": "0s"}))
    led.claim_next(sid, "host-a")
    led.claim_next(sid, "host-a")
    led.mark_lost(ids["mine"], "gone")
    led.mark_lost(ids["auto"], "gone")
    asked = led.retry(ids["mine"])  # an operator's retry
    started = led.claim_next(sid, "host-a").task
    started = led.claim_next(sid, "host-a").task if started.task_id == asked.task_id else started
    assert led.record_late_result(ids["mine"], OK, "supervisor:late") is None
    assert led.record_late_result(ids["auto"], OK, "supervisor:late") is None
    assert led.get_task(asked.task_id).status in ("queued", "running")
    assert led.get_task(started.task_id).status == "running"


def test_a_late_result_only_for_a_lost_attempt_and_a_note_alone(led: Ledger) -> None:
    sid = sup(led)
    _, ids = led.submit(spec({"label": "a"}))
    led.claim_next(sid, "host-a")
    before = dump(led)
    with pytest.raises(IllegalTransition, match="not lost"):
        led.record_late_result(ids["a"], OK, "supervisor:late")
    assert dump(led) == before
    led.mark_lost(ids["a"], "gone")
    assert led.record_late_result(ids["a"], None, "supervisor:late", note="killed when it came back") is None
    assert [e.detail for e in led.task_events(ids["a"]) if e.kind == "late_result"] == ["killed when it came back"]
    assert led.get_task(ids["a"]).exit_code is None


def test_lost_on_host_lists_what_may_still_have_a_result(led: Ledger) -> None:
    sid = sup(led)
    _, ids = led.submit(spec({"label": "a"}, {"label": "b"}, {"label": "c"}))
    for _ in range(3):
        task = led.claim_next(sid, "host-a", run_root="/r").task
        led.mark_lost(task.task_id, "gone")
    led.record_late_result(ids["b"], OK, "supervisor:late")
    assert {t.task_id for t in led.lost_on_host("host-a")} == {ids["a"], ids["c"]}
    assert led.lost_on_host("host-b") == []


def test_mark_lost_by_a_supervisor_that_no_longer_owns_the_task_is_refused(led: Ledger) -> None:
    old, new = sup(led), sup(led)
    _, ids = led.submit(spec({"label": "a"}))
    led.claim_next(new, "host-a")
    before = dump(led)
    with pytest.raises(StaleOwner):
        led.mark_lost(ids["a"], "gone", supervisor_id=old)
    assert dump(led) == before


# -- the lease clock --------------------------------------------------------------------------

@pytest.mark.postgres
def test_on_postgresql_leases_follow_the_database_clock_not_a_wrong_host_clock(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Ledger(pg_url) as honest:
        healthy = honest.register_supervisor("alpha", 100, 1, lease_ms=3000).supervisor_id
        _, ids = honest.submit(spec({"label": "a"}))
        honest.claim_next(healthy, "alpha")
        monkeypatch.setattr(clockmod, "_SKEW_MS", 20_000)  # this process's clock now runs 20 s ahead
        with Ledger(pg_url) as skewed:
            assert skewed.now() - honest.lease_now() >= 19_000
            mine = skewed.register_supervisor("bravo", 200, 1, lease_ms=3000)
            assert skewed.heartbeat(mine.supervisor_id)
            assert skewed.expire_leases("bravo", "supervisor:bravo") == []
            assert skewed.supervisor_alive(honest.m.Supervisor.get_by_id(healthy))
            assert skewed.work_outlook()["running_live"] == 1
            beat = skewed.m.Supervisor.get_by_id(mine.supervisor_id).heartbeat_at
            assert abs(beat - honest.lease_now()) < 10_000  # stamped by the database, not by us
        assert honest.heartbeat(healthy)
        assert honest.get_task(ids["a"]).status == "running"
