"""Ledger API: cancel, retry, reopen, lost, lookups, refusals (SQLite, and PostgreSQL when it answers)."""

from __future__ import annotations

import pytest
from ledger_testkit import ManualClock, dump, kinds, run, spec, statuses

from openclaw_board.ledger import (
    Ambiguous,
    IllegalTransition,
    Ledger,
    LedgerError,
    NotFound,
)

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
    task = led.claim_next("s", "h").task
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
    a = led.claim_next("s", "h").task
    d = led.claim_next("s", "h").task
    assert {a.task_id, d.task_id} == {ids["a"], ids["d"]}
    flow = led.cancel_flow(flow_id[:6])
    assert flow.cancel_requested_at is not None and flow.status == "running"
    assert statuses(led, flow_id) == {"a": "running", "b": "cancelled", "c": "cancelled", "d": "running"}
    assert led.get_task(ids["a"]).cancel_requested_at is not None
    # Nothing new starts; a failure is not retried; a success does not un-cancel the flow.
    assert led.claim_next("s", "h").task is None
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
    task = led.claim_next("s", "h").task
    led.finish(task.task_id, "succeeded", supervisor_id="s", exit_code=0)
    before = dump(led)
    with pytest.raises(IllegalTransition, match="nothing left to cancel"):
        led.cancel_flow(flow_id)
    assert dump(led) == before


# -- retry and reopen -------------------------------------------------------------------


def test_retry_makes_a_new_attempt_in_the_same_flow(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}))
    a = led.claim_next("s", "h").task
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
    a = led.claim_next("s", "h").task
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
    a = led.claim_next("s", "h").task
    led.finish(a.task_id, "failed", supervisor_id="s")
    before = dump(led)
    with pytest.raises(IllegalTransition, match="'a'"):
        led.retry(ids["b"])
    assert dump(led) == before


def test_retry_revives_a_dependent_only_when_all_its_dependencies_can_succeed(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "x"}, {"label": "c", "after": ["a", "x"]}))
    for _ in range(2):
        task = led.claim_next("s", "h").task
        led.finish(task.task_id, "failed", supervisor_id="s")
    assert statuses(led, flow_id) == {"a": "failed", "x": "failed", "c": "cancelled"}
    led.retry(ids["a"])
    assert statuses(led, flow_id) == {"a": "queued", "x": "failed", "c": "cancelled"}
    led.retry(ids["x"])
    assert statuses(led, flow_id) == {"a": "queued", "x": "queued", "c": "queued"}


def test_reopen_retries_what_did_not_succeed(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "ok"}, {"label": "a"}, {"label": "b", "after": ["a"]},
                                   {"label": "c", "after": ["b"]}))
    a = led.claim_next("s", "h").task
    ok = led.claim_next("s", "h").task
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
    assert led.claim_next("s", "h").task.label == "a"
    assert led.claim_next("s", "h").task is None


def test_reopen_a_cancelled_flow_clears_the_sticky_cancel(led: Ledger) -> None:
    flow_id, ids = led.submit(spec({"label": "a", "requires_approval": True}, {"label": "b"}))
    led.approve(ids["a"])
    led.cancel_flow(flow_id)
    assert led.get_flow(flow_id).status == "cancelled"
    flow = led.reopen(flow_id)
    assert flow.cancel_requested_at is None and flow.status == "queued"
    assert statuses(led, flow_id) == {"a": "queued", "b": "queued"}  # approval carried over
    assert led.claim_next("s", "h").task is not None


@pytest.mark.parametrize("state", ["succeeded", "queued", "running"])
def test_reopen_refused_unless_it_ended_badly(led: Ledger, state: str) -> None:
    flow_id, _ = led.submit(spec({"label": "a"}))
    if state != "queued":
        task = led.claim_next("s", "h").task
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
    assert led.claim_next("s", "h").task.label == "a"
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
