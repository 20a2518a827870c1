"""Audit findings and maintenance (repair, prune), with an injected clock and hand-made anomalies."""

from __future__ import annotations

from ledger_testkit import ManualClock, dump, spec

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.audit import CANCEL_STUCK_MS, DEFAULT_RETENTION_MS, STALE_QUEUED_MS

MIN = 60_000
DAY = 24 * 3600 * 1000



def codes(ledger: Ledger) -> set[tuple[str, str | None]]:
    return {(f.code, f.task_id or f.flow_id) for f in ledger.audit()}


def live_supervisor(ledger: Ledger) -> str:
    return ledger.register_supervisor("host-a", 100, 1, lease_ms=15_000).supervisor_id


def test_a_healthy_ledger_has_no_findings(led: Ledger, clock: ManualClock) -> None:
    sid = live_supervisor(led)
    led.submit(spec({"label": "a"}, {"label": "b", "after": ["a"]}))
    task = led.claim_next(sid, "host-a").task
    clock.advance(5_000)
    led.heartbeat(sid)
    assert led.audit() == []
    led.finish(task.task_id, "succeeded", supervisor_id=sid, exit_code=0)
    assert led.audit() == []


def test_stale_queued(led: Ledger, clock: ManualClock) -> None:
    _, ids = led.submit(spec({"label": "a"}))
    clock.advance(STALE_QUEUED_MS - 1)
    assert codes(led) == set()
    clock.advance(1)
    (finding,) = led.audit()
    assert (finding.code, finding.severity, finding.task_id) == ("stale_queued", "warn", ids["a"])
    assert "queued for 10m00s" in finding.message


def test_stale_running_follows_the_heartbeat(led: Ledger, clock: ManualClock) -> None:
    sid = live_supervisor(led)
    _, ids = led.submit(spec({"label": "a"}))
    led.claim_next(sid, "host-a")
    clock.advance(15_000)
    assert codes(led) == set()
    clock.advance(1)
    (finding,) = led.audit()
    assert (finding.code, finding.severity, finding.task_id) == ("stale_running", "error", ids["a"])
    led.heartbeat(sid)
    assert codes(led) == set()
    led.supervisor_stopped(sid)
    assert codes(led) == {("stale_running", ids["a"])}


def test_finding_json_shape(led: Ledger, clock: ManualClock) -> None:
    flow_id, ids = led.submit(spec({"label": "a"}))
    clock.advance(STALE_QUEUED_MS)
    (finding,) = led.audit()
    assert finding.as_json() == {"code": "stale_queued", "severity": "warn", "flow_id": flow_id,
                                 "task_id": ids["a"], "message": finding.message}


def test_stale_running_without_supervisor_record(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a"}))
    led.claim_next("never-registered", "host-z")
    (finding,) = led.audit()
    assert finding.code == "stale_running" and "no supervisor record" in finding.message


def test_lost(led: Ledger) -> None:
    sid = live_supervisor(led)
    _, ids = led.submit(spec({"label": "a"}, {"label": "b", "retries": 1}))
    a = led.claim_next(sid, "host-a").task
    b = led.claim_next(sid, "host-a").task
    led.mark_lost(a.task_id, "pid 100 vanished")
    led.mark_lost(b.task_id, "pid 101 vanished")  # retried: its lost attempt is history
    (finding,) = [f for f in led.audit() if f.code == "lost"]
    assert finding.task_id == ids["a"] and finding.severity == "error" and "pid 100 vanished" in finding.message


def test_cancel_stuck(led: Ledger, clock: ManualClock) -> None:
    sid = live_supervisor(led)
    flow_id, ids = led.submit(spec({"label": "a"}))
    led.claim_next(sid, "host-a")
    led.cancel_flow(flow_id)
    clock.advance(CANCEL_STUCK_MS - 1)
    led.heartbeat(sid)
    assert codes(led) == set()
    clock.advance(1)
    assert codes(led) == {("cancel_stuck", flow_id), ("cancel_stuck", ids["a"])}
    assert all(f.severity == "error" for f in led.audit())
    led.finish(ids["a"], "cancelled", supervisor_id=sid)
    assert codes(led) == set()


def test_inconsistent_timestamps_and_their_repair(led: Ledger, clock: ManualClock) -> None:
    Task = led.m.Task
    sid = live_supervisor(led)
    _, ids = led.submit(spec({"label": "early"}, {"label": "ended"}, {"label": "open"}, {"label": "waiting"}))
    clock.advance(1000)
    early, ended, open_ = (led.claim_next(sid, "host-a").task for _ in range(3))
    assert (early.label, ended.label, open_.label) == ("early", "ended", "open")  # oldest first, ties by label
    led.finish(ended.task_id, "failed", supervisor_id=sid)
    led.finish(open_.task_id, "succeeded", supervisor_id=sid)
    waiting = ids["waiting"]
    # Anomalies only a bug or a hand edit could make.
    Task.update(started_at=early.created_at - 500).where(Task.task_id == early.task_id).execute()
    Task.update(ended_at=clock.t).where(Task.task_id == waiting).execute()  # queued with an end
    Task.update(ended_at=ended.started_at - 1).where(Task.task_id == ended.task_id).execute()
    Task.update(ended_at=None).where(Task.task_id == open_.task_id).execute()  # terminal, no end
    found = {f.task_id: f for f in led.audit() if f.code == "inconsistent_timestamps"}
    assert set(found) == {early.task_id, waiting, ended.task_id, open_.task_id}
    assert "before it was created" in found[early.task_id].message
    assert "queued but has an end time" in found[waiting].message
    assert "ended before it started" in found[ended.task_id].message
    assert "succeeded with no end time" in found[open_.task_id].message

    before = dump(led)
    report = led.maintenance(apply=False)
    assert dump(led) == before
    assert report["applied"] is False
    assert {r["task_id"] for r in report["repairs"]} == set(found)

    report = led.maintenance(apply=True)
    assert {r["task_id"] for r in report["repairs"] if r["code"] == "inconsistent_timestamps"} == set(found)
    assert [f for f in led.audit() if f.code == "inconsistent_timestamps"] == []
    assert led.get_task(early.task_id).started_at == early.created_at
    assert led.get_task(waiting).ended_at is None
    assert led.get_task(ended.task_id).ended_at >= led.get_task(ended.task_id).started_at
    assert led.get_task(open_.task_id).ended_at is not None
    assert "repaired" in [e.kind for e in led.task_events(early.task_id)]


def test_missing_task_and_its_repair(led: Ledger) -> None:
    Flow, Task = led.m.Flow, led.m.Task
    flow_id, ids = led.submit(spec({"label": "a"}, {"label": "b"}))
    ghost = "deadbeef-0000-4000-8000-000000000000"
    Flow.update(blocked_task_id=ghost).where(Flow.flow_id == flow_id).execute()
    Task.update(parent_task_id=ghost, attempt=2).where(Task.task_id == ids["b"]).execute()
    assert codes(led) == {("missing_task", ghost), ("missing_task", ids["b"])}
    led.maintenance(apply=True)
    assert codes(led) == set()
    assert led.get_flow(flow_id).blocked_task_id is None
    assert led.get_task(ids["b"]).parent_task_id is None


def test_flow_status_mismatch_and_its_repair(led: Ledger) -> None:
    Flow = led.m.Flow
    flow_id, _ = led.submit(spec({"label": "a"}))
    Flow.update(status="succeeded").where(Flow.flow_id == flow_id).execute()
    (finding,) = led.audit()
    assert finding.code == "flow_status_mismatch" and "records succeeded but its tasks say queued" in finding.message
    before = dump(led)
    report = led.maintenance(apply=False)
    assert dump(led) == before and report["repairs"][0]["action"] == "would repair"
    report = led.maintenance(apply=True)
    assert report["repairs"] == [{"code": "flow_status_mismatch", "flow_id": flow_id, "task_id": None,
                                  "action": "recomputed flow status"}]
    assert led.get_flow(flow_id).status == "queued" and led.audit() == []


def test_unrepairable_findings_are_left_alone(led: Ledger, clock: ManualClock) -> None:
    led.submit(spec({"label": "a"}))
    led.claim_next("gone", "host-a")
    before = dump(led)
    report = led.maintenance(apply=True)
    assert report["repairs"] == [] and [f["code"] for f in report["findings"]] == ["stale_running"]
    assert dump(led) == before


def _finish_flow(ledger: Ledger, sid: str = "s") -> str:
    flow_id, _ = ledger.submit(spec({"label": "a"}))
    task = ledger.claim_next(sid, "h").task
    ledger.record_process(task.task_id, sid, 1, 1, f"/runs/{task.task_id}")
    ledger.finish(task.task_id, "succeeded", supervisor_id=sid, exit_code=0)
    return flow_id


def test_prune_terminal_flows_past_retention(led: Ledger, clock: ManualClock) -> None:
    old = _finish_flow(led)
    old_task = led.latest_attempts(old)[0].task_id
    clock.advance(2 * DAY)
    young = _finish_flow(led)
    active, _ = led.submit(spec({"label": "waiting", "requires_approval": True}))
    clock.advance(DEFAULT_RETENTION_MS - 2 * DAY + 1)  # `old` ended 7 days + 1 ms ago

    before = dump(led)
    report = led.maintenance(apply=False)
    assert report["pruned_flows"] == 1 and dump(led) == before

    report = led.maintenance(apply=True)
    assert report["pruned_flows"] == 1 and report["run_dirs"] == [f"/runs/{old_task}"]
    assert {f.flow_id for f in led.list_flows()} == {young, active}
    assert led.flow_events(old) == [] and led.task_events(old_task) == []
    assert led.m.Task.select().where(led.m.Task.flow == old).count() == 0
    # Younger terminal flows, and active ones however old, stay.
    clock.advance(30 * DAY)
    led.maintenance(apply=True, retention_ms=10 * DAY)
    assert {f.flow_id for f in led.list_flows()} == {active}
