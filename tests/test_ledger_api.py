"""Ledger API: submit, approve/deny, claim, progress, finish, automatic retry (SQLite, and PostgreSQL)."""

from __future__ import annotations

import pytest
from ledger_testkit import ManualClock, dump, kinds, run, spec, statuses

from openclaw_board.ledger import (
    IllegalTransition,
    Ledger,
    StaleOwner,
    command_spec,
)
from openclaw_board.ledger.settle import MAX_BACKOFF_S

# -- submit -----------------------------------------------------------------------------


def test_submit_from_spec(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "requires_approval": True}, goal="three"))
    assert set(ids) == {"a", "b", "c"}
    flow = led.get_flow(flow_id)
    assert flow.goal == "three" and flow.status == "waiting" and flow.created_at == clock.t
    assert statuses(led, flow_id) == {"a": "queued", "b": "queued", "c": "awaiting_approval"}
    b = led.get_task(ids["b"])
    assert b.attempt == 1 and b.parent_task_id is None and b.is_latest
    assert led.after_of(b) == ["a"] and led.command_of(b) == ["true"]
    assert [e.kind for e in led.flow_events(flow_id)][:1] == ["submitted"]
    for task_id in ids.values():
        (event,) = led.task_events(task_id)
        assert event.kind == "task_added" and event.to_status == led.get_task(task_id).status


def test_submit_from_command(led: Ledger) -> None:
    flow_id, ids = led.submit(command_spec("build", ["make", "-j2"], label="make", timeout="5m", retries=2))
    task = led.get_task(ids["make"])
    assert led.command_of(task) == ["make", "-j2"] and task.timeout_s == 300 and task.retries == 2
    assert led.get_flow(flow_id).status == "queued"
    assert led.get_flow(flow_id).label == "make"


def test_env_and_cwd_are_kept(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a", "env": {"REGION": "eu"}, "cwd": "/srv"}))
    task = led.get_task(ids["a"])
    assert led.env_of(task) == {"REGION": "eu"} and task.cwd == "/srv"


# -- approval ---------------------------------------------------------------------------


def test_approve(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a", "requires_approval": True}))
    assert led.claim_next("s", "h").task is None
    clock.advance(1000)
    task = led.approve(ids["a"][:8])
    assert task.status == "queued" and task.approved_at == clock.t
    assert led.get_flow(flow_id).status == "queued"
    assert led.claim_next("s", "h").task.task_id == ids["a"]


def test_deny_cancels_and_cascades(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a", "requires_approval": True}, {"label": "b", "after": ["a"]}))
    task = led.deny(ids["a"], reason="not today")
    assert task.status == "cancelled" and task.error == "denied by operator: not today" and task.ended_at
    b = led.get_task(ids["b"])
    assert b.status == "cancelled" and b.error == "dependency 'a' ended cancelled"
    assert led.get_flow(flow_id).status == "cancelled"


@pytest.mark.parametrize("op", ["approve", "deny"])
def test_approve_deny_refused_unless_awaiting(led: Ledger, op: str) -> None:
    _, ids = led.submit(spec({"label": "a"}))
    before = dump(led)
    with pytest.raises(IllegalTransition, match="not awaiting_approval"):
        getattr(led, op)(ids["a"])
    assert dump(led) == before


# -- claim ------------------------------------------------------------------------------


def test_claim_order_is_oldest_first(led: Ledger, clock: ManualClock) -> None:
    first, _ = led.submit(spec({"label": "x"}, goal="first"))
    clock.advance(10)
    second, _ = led.submit(spec({"label": "y"}, goal="second"))
    got = [led.claim_next("s", "h").task.flow_id, led.claim_next("s", "h").task.flow_id]
    assert got == [first, second]
    assert led.claim_next("s", "h").task is None


def test_claim_honours_dependencies(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "after": ["a", "b"]}))
    a = led.claim_next("s", "h").task
    assert a.task_id == ids["a"] and led.claim_next("s", "h").task is None
    led.finish(a.task_id, "succeeded", supervisor_id="s", exit_code=0)
    b = led.claim_next("s", "h").task
    assert b.task_id == ids["b"] and led.claim_next("s", "h").task is None
    led.finish(b.task_id, "succeeded", supervisor_id="s", exit_code=0)
    c = led.claim_next("s", "h").task
    assert c.task_id == ids["c"]
    led.finish(c.task_id, "succeeded", supervisor_id="s", exit_code=0)
    flow = led.get_flow(flow_id)
    assert flow.status == "succeeded" and flow.ended_at is not None


def test_claim_sets_owner_and_times(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}))
    clock.advance(500)
    task = led.claim_next("sup-9", "box", generation=3).task
    assert task.status == "running" and task.supervisor_id == "sup-9" and task.host == "box"
    assert task.owner_token == 3 and task.started_at == clock.t and task.ended_at is None
    assert led.get_flow(flow_id).status == "running"
    (claimed,) = [e for e in led.task_events(task.task_id) if e.kind == "claimed"]
    assert (claimed.from_status, claimed.to_status) == ("queued", "running")


def test_claim_skips_excluded_runtimes(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a", "runtime": "acp"}, {"label": "b"}))
    assert led.claim_next("s", "h", exclude_runtimes=frozenset({"acp"})).task.task_id == ids["b"]
    assert led.claim_next("s", "h", exclude_runtimes=frozenset({"acp"})).task is None
    assert led.claim_next("s", "h").task.task_id == ids["a"]


def test_cancelled_flow_starts_nothing(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b"}))
    run(led)
    led.cancel_flow(flow_id)
    assert led.claim_next("s", "h").task is None


# -- progress and finish ----------------------------------------------------------------


def test_progress_and_summary(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a"}))
    task = run(led)
    assert task.task_id == ids["a"]
    assert led.get_task(task.task_id).pid == 4242
    led.report_progress(task.task_id, "sup-1", progress=150, summary="almost [b]done[/b]")
    row = led.get_task(task.task_id)
    assert row.progress == 100.0 and row.progress_summary == "almost [b]done[/b]"
    led.report_progress(task.task_id, "sup-1", progress=-5)
    assert led.get_task(task.task_id).progress == 0.0
    led.report_progress(task.task_id, "sup-1", progress=1.2e-245)  # found by the state machine on PostgreSQL
    assert led.get_task(task.task_id).progress == 0.0
    led.report_progress(task.task_id, "sup-1", progress=33.3333333)
    assert led.get_task(task.task_id).progress == pytest.approx(33.33)
    assert kinds(led, task.task_id) == ["task_added", "claimed", "started"] + ["progress"] * 4
    with pytest.raises(StaleOwner):
        led.report_progress(task.task_id, "someone-else", progress=1)


@pytest.mark.parametrize(
    "status,flow_status",
    [("succeeded", "succeeded"), ("blocked", "blocked"), ("failed", "failed"),
     ("timed_out", "failed"), ("cancelled", "cancelled"), ("lost", "lost")],
)
def test_finish_to_each_terminal_status(led: Ledger, clock: ManualClock, status: str, flow_status: str) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}))
    task = run(led)
    clock.advance(2000)
    done = led.finish(task.task_id, status, supervisor_id="sup-1", exit_code=3, error="why",
                      terminal_summary="the end")
    assert done.status == status and done.exit_code == 3 and done.error == "why"
    assert done.terminal_summary == "the end" and done.ended_at == clock.t
    flow = led.get_flow(flow_id)
    assert flow.status == flow_status and flow.ended_at == clock.t
    (finished,) = [e for e in led.task_events(task.task_id) if e.kind == "finished"]
    assert (finished.from_status, finished.to_status) == ("running", status)


def test_finish_refuses_non_terminal_status_and_wrong_owner(led: Ledger) -> None:
    led.submit(spec({"label": "a"}))
    task = run(led)
    before = dump(led)
    with pytest.raises(IllegalTransition, match="not a terminal status"):
        led.finish(task.task_id, "queued", supervisor_id="sup-1")
    with pytest.raises(StaleOwner):
        led.finish(task.task_id, "succeeded", supervisor_id="intruder")
    assert dump(led) == before


# -- automatic retry ----------------------------------------------------------------------


def test_auto_retry_backoff_grows_and_stops(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a", "retries": 3, "retry_backoff": "2s"}))
    previous = led.get_task(ids["a"])
    for attempt, backoff_ms in [(1, 2000), (2, 4000), (3, 8000)]:
        task = led.claim_next("s", "h").task
        assert task.task_id == previous.task_id and task.attempt == attempt
        clock.advance(100)
        led.finish(task.task_id, "failed", supervisor_id="s", exit_code=1)
        (new,) = [t for t in led.latest_attempts(flow_id)]
        assert new.attempt == attempt + 1 and new.parent_task_id == task.task_id
        assert new.status == "queued" and new.not_before == clock.t + backoff_ms
        assert not led.get_task(task.task_id).is_latest
        assert led.get_flow(flow_id).status == "queued"  # the latest attempt waits
        # Not before its time.
        clock.advance(backoff_ms - 1)
        assert led.claim_next("s", "h").task is None
        clock.advance(1)
        previous = new
    task = led.claim_next("s", "h").task
    assert task.attempt == 4
    led.finish(task.task_id, "failed", supervisor_id="s", exit_code=1)
    assert [t.attempt for t in led.latest_attempts(flow_id)] == [4]
    assert led.get_flow(flow_id).status == "failed"
    assert [t.attempt for t in led.attempts_of(task)] == [1, 2, 3, 4]


def test_auto_retry_backoff_is_capped(led: Ledger, clock: ManualClock) -> None:
    flow_id, _ = led.submit(spec({"label": "a", "retries": 3, "retry_backoff": "200s"}))
    waits = []
    for _ in range(3):
        clock.advance(10_000_000)
        task = led.claim_next("s", "h").task
        led.finish(task.task_id, "timed_out", supervisor_id="s")
        (new,) = led.latest_attempts(flow_id)
        waits.append(new.not_before - clock.t)
    assert waits == [200_000, int(MAX_BACKOFF_S * 1000), int(MAX_BACKOFF_S * 1000)]


@pytest.mark.parametrize("status,retried", [("failed", True), ("timed_out", True), ("lost", True),
                                            ("blocked", False), ("cancelled", False)])
def test_which_outcomes_retry(led: Ledger, status: str, retried: bool) -> None:
    flow_id, _ = led.submit(spec({"label": "a", "retries": 1}))
    task = led.claim_next("s", "h").task
    if status == "lost":
        led.mark_lost(task.task_id, "process vanished")
    else:
        led.finish(task.task_id, status, supervisor_id="s")
    (latest,) = led.latest_attempts(flow_id)
    assert (latest.attempt == 2) == retried


def test_no_auto_retry_after_an_operator_cancel(led: Ledger) -> None:
    """A running task the operator cancelled that dies failing is not started again."""
    flow_id, ids = led.submit(spec({"label": "a", "retries": 2}))
    task = led.claim_next("s", "h").task
    led.cancel_task(task.task_id)
    led.finish(task.task_id, "failed", supervisor_id="s", exit_code=-15)
    assert [t.attempt for t in led.latest_attempts(flow_id)] == [1]
    assert led.claim_next("s", "h").task is None


def test_dependents_of_a_failed_task_are_cancelled(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "after": ["b"]}, {"label": "d", "requires_approval": True,
                                                                    "after": ["a"]},
                                   {"label": "e"}))
    a = led.claim_next("s", "h").task
    assert a.task_id == ids["a"]
    led.finish(a.task_id, "failed", supervisor_id="s", exit_code=2)
    got = {t.label: (t.status, t.error) for t in led.latest_attempts(flow_id)}
    assert got["b"] == ("cancelled", "dependency 'a' ended failed")
    assert got["c"] == ("cancelled", "dependency 'b' ended failed")
    assert got["d"] == ("cancelled", "dependency 'a' ended failed")
    assert got["e"] == ("queued", None)
    assert led.get_flow(flow_id).status == "running"
    e = led.claim_next("s", "h").task
    led.finish(e.task_id, "succeeded", supervisor_id="s", exit_code=0)
    flow = led.get_flow(flow_id)
    assert flow.status == "failed" and flow.blocked_task_id == ids["a"]


@pytest.mark.parametrize("outcomes,flow_status,culprit", [
    (("blocked", "failed"), "failed", "y"),
    (("failed", "lost"), "lost", "y"),
    (("succeeded", "blocked"), "blocked", "y"),
    (("timed_out", "blocked"), "failed", "x"),
])
def test_flow_names_the_task_that_gave_its_status(led: Ledger, outcomes: tuple[str, str], flow_status: str,
                                                  culprit: str) -> None:
    flow_id, ids = led.submit(spec({"label": "x"}, {"label": "y"}))
    for outcome in outcomes:
        task = led.claim_next("s", "h").task
        led.finish(task.task_id, outcome, supervisor_id="s")
    flow = led.get_flow(flow_id)
    assert flow.status == flow_status and flow.blocked_task_id == ids[culprit]
