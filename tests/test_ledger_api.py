"""Every Ledger API operation, on real SQLite files and on PostgreSQL when it answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ledger_testkit import ManualClock, dump, run, spec

from openclaw_board.ledger import (
    Ambiguous,
    IllegalTransition,
    Ledger,
    LedgerError,
    NotFound,
    StaleOwner,
    command_spec,
)
from openclaw_board.ledger.transitions import MAX_BACKOFF_S


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def led(ledger_url: str, clock: ManualClock) -> Iterator[Ledger]:
    with Ledger(ledger_url, clock=clock) as ledger:
        yield ledger


def statuses(ledger: Ledger, flow_id: str) -> dict[str, str]:
    return {t.label: t.status for t in ledger.latest_attempts(flow_id)}


def kinds(ledger: Ledger, task_id: str) -> list[str]:
    return [e.kind for e in ledger.task_events(task_id)]


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
    assert led.claim("s", "h") is None
    clock.advance(1000)
    task = led.approve(ids["a"][:8])
    assert task.status == "queued" and task.approved_at == clock.t
    assert led.get_flow(flow_id).status == "queued"
    assert led.claim("s", "h").task_id == ids["a"]


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
    got = [led.claim("s", "h").flow_id, led.claim("s", "h").flow_id]
    assert got == [first, second]
    assert led.claim("s", "h") is None


def test_claim_honours_dependencies(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "after": ["a", "b"]}))
    a = led.claim("s", "h")
    assert a.task_id == ids["a"] and led.claim("s", "h") is None
    led.finish(a.task_id, "succeeded", supervisor_id="s", exit_code=0)
    b = led.claim("s", "h")
    assert b.task_id == ids["b"] and led.claim("s", "h") is None
    led.finish(b.task_id, "succeeded", supervisor_id="s", exit_code=0)
    c = led.claim("s", "h")
    assert c.task_id == ids["c"]
    led.finish(c.task_id, "succeeded", supervisor_id="s", exit_code=0)
    flow = led.get_flow(flow_id)
    assert flow.status == "succeeded" and flow.ended_at is not None


def test_claim_sets_owner_and_times(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}))
    clock.advance(500)
    task = led.claim("sup-9", "box", generation=3)
    assert task.status == "running" and task.supervisor_id == "sup-9" and task.host == "box"
    assert task.owner_token == 3 and task.started_at == clock.t and task.ended_at is None
    assert led.get_flow(flow_id).status == "running"
    (claimed,) = [e for e in led.task_events(task.task_id) if e.kind == "claimed"]
    assert (claimed.from_status, claimed.to_status) == ("queued", "running")


def test_claim_skips_excluded_runtimes(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a", "runtime": "acp"}, {"label": "b"}))
    assert led.claim("s", "h", exclude_runtimes=frozenset({"acp"})).task_id == ids["b"]
    assert led.claim("s", "h", exclude_runtimes=frozenset({"acp"})) is None
    assert led.claim("s", "h").task_id == ids["a"]


def test_cancelled_flow_starts_nothing(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b"}))
    run(led)
    led.cancel_flow(flow_id)
    assert led.claim("s", "h") is None


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
        task = led.claim("s", "h")
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
        assert led.claim("s", "h") is None
        clock.advance(1)
        previous = new
    task = led.claim("s", "h")
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
        task = led.claim("s", "h")
        led.finish(task.task_id, "timed_out", supervisor_id="s")
        (new,) = led.latest_attempts(flow_id)
        waits.append(new.not_before - clock.t)
    assert waits == [200_000, int(MAX_BACKOFF_S * 1000), int(MAX_BACKOFF_S * 1000)]


@pytest.mark.parametrize("status,retried", [("failed", True), ("timed_out", True), ("lost", True),
                                            ("blocked", False), ("cancelled", False)])
def test_which_outcomes_retry(led: Ledger, status: str, retried: bool) -> None:
    flow_id, _ = led.submit(spec({"label": "a", "retries": 1}))
    task = led.claim("s", "h")
    if status == "lost":
        led.mark_lost(task.task_id, "process vanished")
    else:
        led.finish(task.task_id, status, supervisor_id="s")
    (latest,) = led.latest_attempts(flow_id)
    assert (latest.attempt == 2) == retried


def test_no_auto_retry_after_an_operator_cancel(led: Ledger) -> None:
    """A running task the operator cancelled that dies failing is not started again."""
    flow_id, ids = led.submit(spec({"label": "a", "retries": 2}))
    task = led.claim("s", "h")
    led.cancel_task(task.task_id)
    led.finish(task.task_id, "failed", supervisor_id="s", exit_code=-15)
    assert [t.attempt for t in led.latest_attempts(flow_id)] == [1]
    assert led.claim("s", "h") is None


def test_dependents_of_a_failed_task_are_cancelled(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "after": ["b"]}, {"label": "d", "requires_approval": True,
                                                                    "after": ["a"]},
                                   {"label": "e"}))
    a = led.claim("s", "h")
    assert a.task_id == ids["a"]
    led.finish(a.task_id, "failed", supervisor_id="s", exit_code=2)
    got = {t.label: (t.status, t.error) for t in led.latest_attempts(flow_id)}
    assert got["b"] == ("cancelled", "dependency 'a' ended failed")
    assert got["c"] == ("cancelled", "dependency 'b' ended failed")
    assert got["d"] == ("cancelled", "dependency 'a' ended failed")
    assert got["e"] == ("queued", None)
    assert led.get_flow(flow_id).status == "running"
    e = led.claim("s", "h")
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
        task = led.claim("s", "h")
        led.finish(task.task_id, outcome, supervisor_id="s")
    flow = led.get_flow(flow_id)
    assert flow.status == flow_status and flow.blocked_task_id == ids[culprit]


# -- cancel -----------------------------------------------------------------------------


def test_cancel_queued_task(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}))
    task = led.cancel_task(ids["a"])
    assert task.status == "cancelled" and task.error == "cancelled by operator" and task.ended_at
    assert led.get_task(ids["b"]).status == "cancelled"
    assert led.get_flow(flow_id).status == "cancelled"
    assert led.get_flow(flow_id).cancel_requested_at is None  # a task cancel is not sticky


def test_cancel_running_task_is_recorded_by_its_owner(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}))
    run(led)
    clock.advance(10)
    task = led.cancel_task(ids["a"])
    assert task.status == "running" and task.cancel_requested_at == clock.t
    assert [t.task_id for t in led.cancel_requests("sup-1")] == [ids["a"]]
    assert led.cancel_requests("other") == []
    clock.advance(10)
    done = led.finish(ids["a"], "cancelled", supervisor_id="sup-1", exit_code=-15)
    assert done.status == "cancelled" and done.ended_at == clock.t
    assert led.get_flow(flow_id).status == "cancelled"


def test_cancel_running_task_twice_is_one_request(led: Ledger, clock: ManualClock) -> None:
    _, ids = led.submit(spec({"label": "a"}))
    run(led)
    first = led.cancel_task(ids["a"]).cancel_requested_at
    clock.advance(50)
    assert led.cancel_task(ids["a"]).cancel_requested_at == first
    assert kinds(led, ids["a"]).count("cancel_requested") == 1


def test_retry_keeps_a_given_approval_and_asks_again_after_a_denial(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "ok", "requires_approval": True},
                                   {"label": "no", "requires_approval": True}))
    led.approve(ids["ok"])
    led.deny(ids["no"])
    task = led.claim("s", "h")
    led.finish(task.task_id, "failed", supervisor_id="s")
    assert led.retry(ids["ok"]).status == "queued"
    assert led.retry(ids["no"]).status == "awaiting_approval"
    assert led.get_flow(flow_id).status == "waiting"


def test_cancel_terminal_task_refused(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a"}))
    led.cancel_task(ids["a"])
    before = dump(led)
    with pytest.raises(IllegalTransition, match="already cancelled"):
        led.cancel_task(ids["a"])
    assert dump(led) == before


def test_sticky_flow_cancel(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "requires_approval": True}, {"label": "d", "retries": 3}))
    a = led.claim("s", "h")
    d = led.claim("s", "h")
    assert {a.task_id, d.task_id} == {ids["a"], ids["d"]}
    flow = led.cancel_flow(flow_id[:6])
    assert flow.cancel_requested_at is not None and flow.status == "running"
    assert statuses(led, flow_id) == {"a": "running", "b": "cancelled", "c": "cancelled", "d": "running"}
    assert led.get_task(ids["a"]).cancel_requested_at is not None
    # Nothing new starts; a failure is not retried; a success does not un-cancel the flow.
    assert led.claim("s", "h") is None
    led.finish(ids["d"], "failed", supervisor_id="s", exit_code=1)
    assert [t.attempt for t in led.latest_attempts(flow_id) if t.label == "d"] == [1]
    led.finish(ids["a"], "succeeded", supervisor_id="s", exit_code=0)
    flow = led.get_flow(flow_id)
    assert flow.status == "cancelled" and flow.ended_at is not None
    before = dump(led)
    with pytest.raises(IllegalTransition, match="already cancelled"):
        led.cancel_flow(flow_id)
    assert dump(led) == before


def test_cancel_flow_refused_when_done(led: Ledger) -> None:
    flow_id, _ = led.submit(spec({"label": "a"}))
    task = led.claim("s", "h")
    led.finish(task.task_id, "succeeded", supervisor_id="s", exit_code=0)
    before = dump(led)
    with pytest.raises(IllegalTransition, match="nothing left to cancel"):
        led.cancel_flow(flow_id)
    assert dump(led) == before


# -- retry and reopen -------------------------------------------------------------------


def test_retry_makes_a_new_attempt_in_the_same_flow(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}))
    a = led.claim("s", "h")
    led.finish(a.task_id, "failed", supervisor_id="s", exit_code=1)
    assert led.get_flow(flow_id).status == "failed"
    new = led.retry(ids["a"])
    assert new.flow_id == flow_id and new.attempt == 2 and new.parent_task_id == ids["a"]
    assert new.status == "queued" and new.label == "a" and new.not_before is None
    # Its dependent, cancelled because of the failure, is revived too.
    b = [t for t in led.latest_attempts(flow_id) if t.label == "b"][0]
    assert b.attempt == 2 and b.status == "queued" and b.parent_task_id == ids["b"]
    assert led.get_flow(flow_id).status == "queued"
    assert led.get_flow(flow_id).ended_at is None
    retried = [e for e in led.task_events(new.task_id) if e.kind == "retried"]
    assert retried and retried[0].to_status == "queued"


def test_retry_refusals(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b"}))
    before = dump(led)
    with pytest.raises(IllegalTransition, match="only a finished task can be retried"):
        led.retry(ids["a"])
    assert dump(led) == before
    a = led.claim("s", "h")
    led.finish(a.task_id, "failed", supervisor_id="s")
    led.retry(ids["a"])
    before = dump(led)
    with pytest.raises(IllegalTransition, match="not the latest"):
        led.retry(ids["a"])
    assert dump(led) == before


def test_retry_refused_on_cancel_requested_flow(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b"}))
    led.cancel_flow(flow_id)
    before = dump(led)
    with pytest.raises(IllegalTransition, match=rf"reopen the flow.*flows reopen {flow_id[:8]}"):
        led.retry(ids["a"])
    assert dump(led) == before


def test_retry_refused_while_a_dependency_cannot_succeed(led: Ledger) -> None:
    """Retrying `b` alone while `a` failed would queue work that can never start."""
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}))
    a = led.claim("s", "h")
    led.finish(a.task_id, "failed", supervisor_id="s")
    before = dump(led)
    with pytest.raises(IllegalTransition, match="'a'"):
        led.retry(ids["b"])
    assert dump(led) == before


def test_retry_revives_a_dependent_only_when_all_its_dependencies_can_succeed(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "x"}, {"label": "c", "after": ["a", "x"]}))
    for _ in range(2):
        task = led.claim("s", "h")
        led.finish(task.task_id, "failed", supervisor_id="s")
    assert statuses(led, flow_id) == {"a": "failed", "x": "failed", "c": "cancelled"}
    led.retry(ids["a"])
    assert statuses(led, flow_id) == {"a": "queued", "x": "failed", "c": "cancelled"}
    led.retry(ids["x"])
    assert statuses(led, flow_id) == {"a": "queued", "x": "queued", "c": "queued"}


def test_reopen_retries_what_did_not_succeed(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "ok"}, {"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "after": ["b"]}))
    a = led.claim("s", "h")
    ok = led.claim("s", "h")
    assert (a.label, ok.label) == ("a", "ok")  # oldest first, ties by label
    led.finish(ok.task_id, "succeeded", supervisor_id="s", exit_code=0)
    led.finish(a.task_id, "blocked", supervisor_id="s", exit_code=75)
    assert led.get_flow(flow_id).status == "blocked"
    flow = led.reopen(flow_id)
    assert flow.status == "queued" or flow.status == "running"
    latest = {t.label: t for t in led.latest_attempts(flow_id)}
    assert latest["ok"].attempt == 1 and latest["ok"].status == "succeeded"
    for label in ("a", "b", "c"):
        assert latest[label].attempt == 2 and latest[label].status == "queued"
        assert latest[label].parent_task_id == ids[label]
    assert led.claim("s", "h").label == "a"
    assert led.claim("s", "h") is None


def test_reopen_a_cancelled_flow_clears_the_sticky_cancel(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a", "requires_approval": True}, {"label": "b"}))
    led.approve(ids["a"])
    led.cancel_flow(flow_id)
    assert led.get_flow(flow_id).status == "cancelled"
    flow = led.reopen(flow_id)
    assert flow.cancel_requested_at is None and flow.status == "queued"
    assert statuses(led, flow_id) == {"a": "queued", "b": "queued"}  # approval carried over
    assert led.claim("s", "h") is not None


@pytest.mark.parametrize("state", ["succeeded", "queued", "running"])
def test_reopen_refused_unless_it_ended_badly(led: Ledger, state: str) -> None:
    flow_id, _ = led.submit(spec({"label": "a"}))
    if state != "queued":
        task = led.claim("s", "h")
        if state == "succeeded":
            led.finish(task.task_id, "succeeded", supervisor_id="s", exit_code=0)
    before = dump(led)
    with pytest.raises(IllegalTransition, match="only a blocked, failed, cancelled or lost flow"):
        led.reopen(flow_id)
    assert dump(led) == before


# -- lost -------------------------------------------------------------------------------


def test_mark_lost(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}))
    before = dump(led)
    with pytest.raises(IllegalTransition, match="not running"):
        led.mark_lost(ids["a"], "gone")
    assert dump(led) == before
    run(led)
    task = led.mark_lost(ids["a"], "process 4242 vanished")
    assert task.status == "lost" and task.error == "process 4242 vanished" and task.ended_at
    assert led.get_flow(flow_id).status == "lost"
    assert kinds(led, ids["a"])[-1] == "lost"


# -- lookups ----------------------------------------------------------------------------


def test_lookups(led: Ledger) -> None:
    flow_id, ids = led.submit(spec(*({"label": f"t{i}"} for i in range(20))))
    some = ids["t3"]
    assert led.get_task(some).task_id == some
    assert led.get_task(some[:10]).task_id == some
    assert led.get_task(some.upper()).task_id == some
    assert led.get_task(f"  {some[:12]} ").task_id == some
    assert led.get_flow(flow_id[:8]).flow_id == flow_id
    # 20 ids over 16 hex digits: some first character is shared.
    firsts = [t[0] for t in ids.values()]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(Ambiguous, match="ambiguous"):
        led.get_task(shared)
    for bad in ["ffffffff-ffff", "zzz", "", "'; drop table task; --", "%", "_"]:
        with pytest.raises(NotFound):
            led.get_task(bad)
    missing = "0000" if not flow_id.startswith("0000") else "ffff"
    with pytest.raises(NotFound, match="no flow"):
        led.get_flow(missing)


# -- refused transitions change nothing ---------------------------------------------------


def test_every_refusal_changes_nothing(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}, {"label": "c"}))
    clock.advance(5)
    led.submit(spec({"label": "z"}))
    assert led.claim("s", "h").label == "a"
    refusals = [
        lambda: led.approve(ids["a"]),
        lambda: led.deny(ids["b"]),
        lambda: led.retry(ids["a"]),
        lambda: led.reopen(flow_id),
        lambda: led.finish(ids["c"], "succeeded"),
        lambda: led.finish(ids["a"], "running", supervisor_id="s"),
        lambda: led.finish(ids["a"], "succeeded", supervisor_id="other"),
        lambda: led.mark_lost(ids["b"], "no"),
        lambda: led.record_process(ids["c"], "s", 1, 1, "/tmp"),
        lambda: led.record_process(ids["a"], "other", 1, 1, "/tmp"),
        lambda: led.report_progress(ids["b"], "s", progress=5),
        lambda: led.get_task("nope"),
        lambda: led.cancel_task("abcdefg"),
    ]
    before = dump(led)
    for refuse in refusals:
        with pytest.raises(LedgerError):
            refuse()
        assert dump(led) == before
