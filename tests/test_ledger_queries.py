"""The Ledger's reads: lists and filters, pressure counts, attempts, the event log."""

from __future__ import annotations

import pytest
from ledger_testkit import ManualClock, spec

from openclaw_board.ledger import Ledger, NotFound
from openclaw_board.ledger.serialize import event_dict, flow_dict, task_dict


@pytest.fixture
def world(led: Ledger, clock: ManualClock) -> dict[str, str]:
    """Four flows: one failed and retried, one running, one waiting, one cancelled while running."""
    ids: dict[str, str] = {}
    f1, t1 = led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"], "runtime": "acp"}, goal="one"))
    clock.advance(10)
    f2, t2 = led.submit(spec({"label": "solo"}, goal="two"))
    clock.advance(10)
    f3, t3 = led.submit(spec({"label": "gate", "requires_approval": True}, goal="three"))
    clock.advance(10)
    f4, t4 = led.submit(spec({"label": "long"}, goal="four"))
    a = led.claim_next("s", "h").task
    led.finish(a.task_id, "failed", supervisor_id="s", exit_code=1)
    led.retry(a.task_id)
    led.claim_next("s", "h")  # a, attempt 2
    led.claim_next("s", "h")  # solo
    led.claim_next("s", "h")  # long
    led.cancel_flow(f4)
    ids.update(f1=f1, f2=f2, f3=f3, f4=f4, a1=t1["a"], b1=t1["b"], solo=t2["solo"], gate=t3["gate"],
               long=t4["long"])
    return ids


def test_list_tasks_latest_and_all_attempts(led: Ledger, world: dict[str, str]) -> None:
    latest = led.list_tasks()
    assert sorted(t.label for t in latest) == ["a", "b", "gate", "long", "solo"]
    assert [t.created_at for t in latest] == sorted((t.created_at for t in latest), reverse=True)
    every = led.list_tasks(all_attempts=True)
    assert len(every) == len(latest) + 2  # a and b have a second attempt
    assert {t.status for t in led.list_tasks(status="running")} == {"running"}
    assert [t.label for t in led.list_tasks(runtime="acp")] == ["b"]
    assert {t.label for t in led.list_tasks(flow=world["f1"][:8])} == {"a", "b"}
    assert len(led.list_tasks(limit=2)) == 2
    with pytest.raises(NotFound):
        led.list_tasks(flow="ffffffffff")


def test_list_flows(led: Ledger, world: dict[str, str]) -> None:
    flows = led.list_flows()
    assert [f.goal for f in flows] == ["four", "three", "two", "one"]  # newest first
    assert [f.flow_id for f in led.list_flows(status="waiting")] == [world["f3"]]
    assert len(led.list_flows(limit=1)) == 1


def test_counts_and_pressure(led: Ledger, world: dict[str, str]) -> None:
    counts = led.task_counts([world["f1"], world["f3"]])
    assert counts == {world["f1"]: {"running": 1, "queued": 1}, world["f3"]: {"awaiting_approval": 1}}
    assert led.task_counts([]) == {}
    assert set(led.task_counts()) == {world[k] for k in ("f1", "f2", "f3", "f4")}
    # queued counts what waits for approval; the failed first attempt of `a` is history.
    assert led.task_pressure() == {"queued": 2, "running": 3, "issues": 0}
    assert led.flow_pressure() == {"active": 4, "blocked": 0, "cancel_requested": 1, "total": 4}
    led.finish(world["long"], "cancelled", supervisor_id="s")
    solo = led.get_task(world["solo"])
    led.finish(solo.task_id, "blocked", supervisor_id="s", exit_code=75)
    assert led.task_pressure() == {"queued": 2, "running": 1, "issues": 1}
    assert led.flow_pressure() == {"active": 2, "blocked": 1, "cancel_requested": 0, "total": 4}


def test_attempts(led: Ledger, world: dict[str, str]) -> None:
    attempts = led.flow_attempts(world["f1"])
    assert [(t.label, t.attempt) for t in attempts] == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    first = led.get_task(world["a1"])
    assert [t.attempt for t in led.attempts_of(first)] == [1, 2]


def test_event_log(led: Ledger, world: dict[str, str], clock: ManualClock) -> None:
    last = led.last_event_id()
    assert last > 0
    assert led.events_since(last) == []
    events = led.flow_events(world["f1"])
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[0].kind == "submitted"
    before = clock.t
    clock.advance(1000)
    led.approve(world["gate"])
    new = led.events_since(last)
    assert [e.kind for e in new] == ["approved", "flow_status"] and new[0].task_id == world["gate"]
    assert led.last_event_id() == new[-1].id
    assert [e.kind for e in led.flow_events(world["f3"], until=before)] == ["submitted", "task_added", "flow_status"]
    assert led.flow_events(world["f3"])[-1].kind == "flow_status"


def test_json_shapes(led: Ledger, world: dict[str, str]) -> None:
    task = task_dict(led.get_task(world["a1"]))
    assert list(task) == ["task_id", "flow_id", "label", "runtime", "status", "attempt", "parent_task_id",
                          "command", "exit_code", "error", "progress", "progress_summary", "terminal_summary",
                          "created_at", "started_at", "ended_at", "cancel_requested_at", "supervisor_id",
                          "host", "pid"]
    assert task["status"] == "failed" and task["ended_at"].endswith("Z") and task["command"] == ["true"]
    flow = flow_dict(led.get_flow(world["f1"]), led.task_counts([world["f1"]])[world["f1"]])
    assert list(flow) == ["flow_id", "goal", "label", "status", "notify", "cancel_requested_at", "created_at",
                          "updated_at", "ended_at", "task_counts"]
    assert flow["task_counts"] == {"queued": 1, "running": 1}
    event = event_dict(led.task_events(world["a1"])[0])
    assert {"at", "kind", "from", "to", "detail"} <= set(event)
