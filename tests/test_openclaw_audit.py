"""`audit` on an OpenClaw ledger gives `openclaw tasks audit`'s findings (LEDGER.md).

Each anomaly in the standard ledger is there to trip exactly one rule, and each near miss
(fresh queued/running, silent delivery failure, start before creation) to trip none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openclaw_fixtures import HOUR, MIN, NOW, OpenClawFile, Standard, standard_ledger

from openclaw_board.ledger.clock import fixed_clock
from openclaw_board.ledger.openclaw import OpenClawLedger
from openclaw_board.ledger.openclaw.rules import LOST_RETENTION_MS, STALE_QUEUED_MS, STALE_RUNNING_MS


@pytest.fixture
def std(tmp_path: Path) -> Standard:
    s = standard_ledger(tmp_path / "openclaw.sqlite")
    yield s
    s.file.close()


def findings(url: str, now: int = NOW) -> list[tuple[str, str, str | None]]:
    with OpenClawLedger(url, clock=fixed_clock(now)) as led:
        return [(f.code, f.severity, f.task_id) for f in led.audit()]


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
        ("inconsistent_timestamps", "warn", t["end_before_start"]),
        ("inconsistent_timestamps", "warn", t["running_with_end"]),
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
