"""`audit` on an OpenClaw ledger gives `openclaw tasks audit`'s findings (LEDGER.md).

Each anomaly in the standard ledger is there to trip exactly one rule, and each near miss
(fresh queued/running, silent delivery failure, start before creation) to trip none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openclaw_fixtures import HOUR, MIN, NOW, OpenClawFile, Standard

from openclaw_board.ledger.clock import fixed_clock
from openclaw_board.ledger.openclaw import OpenClawLedger
from openclaw_board.ledger.openclaw.rules import LOST_RETENTION_MS, STALE_QUEUED_MS, STALE_RUNNING_MS


def findings(url: str, now: int = NOW) -> list[tuple[str, str, str | None]]:
    """(code, severity, the task's id, or the flow's for a TaskFlow finding)."""
    with OpenClawLedger(url, clock=fixed_clock(now)) as led:
        return [(f.code, f.severity, f.task_id or f.flow_id) for f in led.audit()]


def test_thresholds_are_ledger_md_s() -> None:
    assert (STALE_QUEUED_MS, STALE_RUNNING_MS, LOST_RETENTION_MS) == (10 * MIN, 30 * MIN, 24 * HOUR)


def test_standard_ledger_findings(std: Standard) -> None:
    t = std.t
    expected = {
        ("stale_queued", "warn", t["stale_queued"]),  # queued 15 min
        ("stale_running", "error", t["stale_running"]),  # last event 31 min ago
        ("lost", "warn", t["lost_retained"]),  # cleanup_after still ahead
        ("lost", "error", t["lost_expired"]),  # cleanup_after passed
        ("lost", "error", t["lost_unstamped"]),  # no cleanup_after; not also missing_cleanup
        ("delivery_failed", "warn", t["failed"]),  # failed delivery, notify done_only
        ("missing_cleanup", "warn", t["missing_cleanup"]),
        # Not end_before_start: OpenClaw reads its end as no earlier than its start.
        ("inconsistent_timestamps", "warn", t["running_with_end"]),
        ("stale_waiting", "warn", std.f["waiting"]),  # a TaskFlow waiting for 35 minutes
    }
    got = findings(std.url)
    assert sorted(got) == sorted(expected)
    # Errors first, as OpenClaw sorts them.
    severities = [sev for _, sev, _ in got]
    assert severities == sorted(severities, key=lambda s: s != "error")


def test_finding_carries_flow_and_message(std: Standard) -> None:
    with OpenClawLedger(std.url, clock=fixed_clock(NOW)) as led:
        by_task = {f.task_id: f for f in led.audit()}
    f = by_task[std.t["failed"]]
    assert f.flow_id == std.f["mirrored"]
    assert f.as_json() == {"code": "delivery_failed", "severity": "warn", "flow_id": std.f["mirrored"],
                           "task_id": std.t["failed"],
                           "message": f"task {std.t['failed'][:8]} (backup): terminal update delivery failed "
                                      "(notify done_only)"}
    assert "backing session missing" in by_task[std.t["lost_retained"]].message


@pytest.mark.parametrize(("age", "expected"), [(10 * MIN - 1, []), (10 * MIN, ["stale_queued"])])
def test_stale_queued_boundary(tmp_path: Path, age: int, expected: list[str]) -> None:
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    fx.add_task(created_at=NOW - age)
    assert [c for c, _, _ in findings(f"openclaw://{fx.path}")] == expected
    fx.close()


@pytest.mark.parametrize(("fields", "expected"), [
    ({"last_event_at": NOW - 30 * MIN + 1}, []),
    ({"last_event_at": NOW - 30 * MIN}, [("stale_running", "error")]),
    ({}, [("stale_running", "error")]),  # no last event: measured from the start (45 min)
])
def test_stale_running_measured_from_last_event_else_start(tmp_path: Path, fields: dict,
                                                           expected: list) -> None:
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    fx.add_task(status="running", created_at=NOW - HOUR, started_at=NOW - 45 * MIN, **fields)
    assert [(c, s) for c, s, _ in findings(f"openclaw://{fx.path}")] == expected
    fx.close()


def test_lost_turns_from_warn_to_error_when_its_retention_ends(tmp_path: Path) -> None:
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    # cleanup_after far ahead, but lost retention is capped at 1 day after the end.
    fx.add_task(status="lost", delivery_status="not_applicable", created_at=NOW - 2 * HOUR,
                ended_at=NOW - HOUR, cleanup_after=NOW + 7 * 24 * HOUR)
    url = f"openclaw://{fx.path}"
    assert findings(url)[0][:2] == ("lost", "warn")
    assert findings(url, now=NOW - HOUR + 24 * HOUR - 1)[0][:2] == ("lost", "warn")
    assert findings(url, now=NOW - HOUR + 24 * HOUR)[0][:2] == ("lost", "error")
    fx.close()


def test_terminal_statuses_need_cleanup_but_active_ones_do_not(tmp_path: Path) -> None:
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    ids = {s: fx.add_task(status=s, delivery_status="not_applicable", created_at=NOW - MIN,
                          started_at=None if s == "queued" else NOW - MIN,
                          ended_at=None if s in ("queued", "running") else NOW - MIN)
           for s in ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost")}
    got = findings(f"openclaw://{fx.path}")
    missing = {t for c, _, t in got if c == "missing_cleanup"}
    assert missing == {ids[s] for s in ("succeeded", "failed", "timed_out", "cancelled")}
    fx.close()


def test_taskflow_findings_as_openclaw_audits_flow_runs(tmp_path: Path) -> None:
    """Each flow trips exactly the TaskFlow rules its comment names (openclaw's task-flow audit)."""
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    old, f = NOW - 31 * MIN, {}
    f["empty"] = fx.add_flow(status="running", updated_at=old)  # stale_running + missing_linked_tasks
    f["busy"] = fx.add_flow(status="running", updated_at=old)  # stale_running only: it has a task
    fx.add_task(parent_flow_id=f["busy"], status="succeeded", delivery_status="delivered", created_at=old,
                started_at=old, ended_at=old, cleanup_after=NOW + HOUR)
    f["waits"] = fx.add_flow(status="waiting", updated_at=old, wait_json='{"until": "x"}')  # stale_waiting
    f["bare_wait"] = fx.add_flow(status="waiting", updated_at=old)  # stale_waiting + missing_linked_tasks (warn)
    f["mirror"] = fx.add_flow(status="running", sync_mode="task_mirrored", updated_at=old)  # stale_running
    f["stuck_open"] = fx.add_flow(status="blocked", blocked_summary="a human", updated_at=NOW - 40 * MIN)
    f["ended_block"] = fx.add_flow(status="blocked", blocked_summary="a human", updated_at=NOW - 40 * MIN,
                                   ended_at=NOW - 40 * MIN)  # nothing: blocked and ended
    f["cancel_stuck"] = fx.add_flow(status="queued", cancel_requested_at=NOW - 6 * MIN, updated_at=NOW - 6 * MIN)
    f["cancel_live"] = fx.add_flow(status="queued", cancel_requested_at=NOW - 6 * MIN, updated_at=NOW - 6 * MIN)
    fx.add_task(parent_flow_id=f["cancel_live"], status="running", created_at=NOW - MIN, started_at=NOW - MIN)
    f["cancel_fresh"] = fx.add_flow(status="queued", cancel_requested_at=NOW - 4 * MIN, updated_at=NOW - 4 * MIN)
    f["cancel_done"] = fx.add_flow(status="cancelled", cancel_requested_at=NOW - HOUR, updated_at=NOW - HOUR,
                                   ended_at=NOW - HOUR)
    f["missing"] = fx.add_flow(status="blocked", blocked_task_id="gone", updated_at=NOW - MIN)
    f["present"] = fx.add_flow(status="blocked", blocked_task_id="here", updated_at=NOW - MIN)
    fx.add_task(task_id="here", parent_flow_id=f["present"], status="succeeded", terminal_outcome="blocked",
                delivery_status="delivered", created_at=NOW - 2 * MIN, started_at=NOW - 2 * MIN,
                ended_at=NOW - MIN, cleanup_after=NOW + HOUR)
    f["times"] = fx.add_flow(status="succeeded", updated_at=NOW - MIN, ended_at=NOW - 2 * MIN)
    got = sorted((c, s, i) for c, s, i in findings(f"openclaw://{fx.path}") if i in f.values())
    fx.close()
    assert got == sorted([
        ("stale_running", "error", f["empty"]), ("missing_linked_tasks", "error", f["empty"]),
        ("stale_running", "error", f["busy"]), ("stale_waiting", "warn", f["waits"]),
        ("stale_waiting", "warn", f["bare_wait"]), ("missing_linked_tasks", "warn", f["bare_wait"]),
        ("stale_running", "error", f["mirror"]), ("stale_blocked", "warn", f["stuck_open"]),
        ("cancel_stuck", "warn", f["cancel_stuck"]), ("blocked_task_missing", "warn", f["missing"]),
        ("inconsistent_timestamps", "warn", f["times"]),
    ])


def test_findings_are_sorted_as_openclaw_sorts_them(tmp_path: Path) -> None:
    """Errors first; then the oldest; a finding with no age (inconsistent_timestamps) last."""
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    fx.add_task(task_id="odd", status="running", created_at=NOW - 3 * MIN, started_at=NOW - 2 * MIN,
                ended_at=NOW - MIN, last_event_at=NOW - MIN)
    fx.add_task(task_id="q-old", created_at=NOW - 50 * MIN)
    fx.add_flow(flow_id="f-wait", status="waiting", wait_json="{}", updated_at=NOW - 40 * MIN)
    fx.add_task(task_id="q-new", created_at=NOW - 20 * MIN)
    fx.add_flow(flow_id="f-run", status="running", updated_at=NOW - 35 * MIN)
    fx.add_task(task_id="r-old", status="running", created_at=NOW - 2 * HOUR, started_at=NOW - 2 * HOUR)
    got = [(c, i) for c, _, i in findings(f"openclaw://{fx.path}")]
    fx.close()
    assert got == [("stale_running", "r-old"), ("stale_running", "f-run"), ("missing_linked_tasks", "f-run"),
                   ("stale_queued", "q-old"), ("stale_waiting", "f-wait"), ("stale_queued", "q-new"),
                   ("inconsistent_timestamps", "odd")]
