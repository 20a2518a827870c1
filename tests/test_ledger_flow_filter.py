"""The board's filter gives the same flows on every ledger: ours (SQL, on SQLite and
PostgreSQL), an OpenClaw ledger and the time-travel snapshot (in memory), and the
multi-ledger over ours and OpenClaw's (their union)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from ledger_testkit import spec
from openclaw_fixtures import MIN, NOW, OpenClawFile

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.api import BoardReads
from openclaw_board.ledger.clock import fixed_clock
from openclaw_board.ledger.flow_filter import STATUS_FILTERS, flow_matches, issue_count
from openclaw_board.ledger.multi import MultiLedger
from openclaw_board.ledger.openclaw import OpenClawLedger
from openclaw_board.ledger.snapshot_ledger import SnapshotLedger

# (goal, task label, how the task ends, the flow's status then)
FLOWS = [
    ("Do the weekly report", "fetch", "succeeded", "succeeded"),
    ("Nightly lead enrichment", "Enrich", "running", "running"),
    ("Refund review", "review", "blocked", "blocked"),
    ("Import the CSV", "import", "failed", "failed"),
    ("Queue work", "wait", "queued", "queued"),
]

FILTERS = [
    *((f, "") for f in STATUS_FILTERS),
    ("all", "DO THE"), ("all", "do the"), ("all", "enrich"), ("all", "ENRICH"), ("all", "REVIEW"),
    ("issues", "the"), ("active", "WORK"), ("blocked", "refund"), ("all", "nothing like it"),
    ("all", "50%"), ("all", "_"),
]


def _ours(led: Ledger) -> None:
    for goal, label, outcome, _ in FLOWS:
        flow_id, _ = led.submit(spec({"label": label}, goal=goal))
        if outcome == "queued":
            continue
        task = led.claim_next("sup-1", "host-a").task  # the only queued task: earlier ones were claimed
        assert task is not None and task.flow_id == flow_id
        if outcome != "running":
            led.finish(task.task_id, outcome, supervisor_id="sup-1")


def _openclaw(path: Path) -> str:
    fx = OpenClawFile(path)
    for n, (goal, label, outcome, flow_status) in enumerate(FLOWS):
        at = NOW - (10 - n) * MIN
        flow_id = fx.add_flow(goal=goal, status=flow_status, created_at=at, updated_at=at)
        raw = {"blocked": "succeeded"}.get(outcome, outcome)
        fx.add_task(parent_flow_id=flow_id, label=label, status=raw, created_at=at,
                    terminal_outcome="blocked" if outcome == "blocked" else None,
                    ended_at=at if raw in ("succeeded", "failed") else None)
    fx.close()
    return f"openclaw://{path}"


def _goals(ledger: BoardReads, status_filter: str, text: str) -> Counter[str]:
    active, terminal, more = ledger.board_flows(status_filter, text, active_cap=100, terminal_limit=100)
    assert more == 0
    return Counter(f.goal for f in active + terminal)


def _expected(status_filter: str, text: str) -> Counter[str]:
    """By hand: the rules of flow_filter.py, spelled out."""
    issue = {"blocked", "failed", "lost"}
    out: Counter[str] = Counter()
    for goal, label, outcome, flow_status in FLOWS:
        if status_filter == "active" and flow_status not in ("queued", "waiting", "running"):
            continue
        if status_filter == "issues" and flow_status not in issue and outcome not in issue | {"timed_out"}:
            continue
        if status_filter == "blocked" and "blocked" not in (flow_status, outcome):
            continue
        needle = text.strip().lower()
        if needle and needle not in goal.lower() and needle not in label.lower():
            continue
        out[goal] += 1
    return out


def test_every_ledger_gives_the_same_flows_for_each_filter(led: Ledger, tmp_path: Path) -> None:
    _ours(led)
    oc = OpenClawLedger(_openclaw(tmp_path / "openclaw.sqlite"), clock=fixed_clock(NOW))
    ours_then = SnapshotLedger(led, led.now())
    multi = MultiLedger([("board", led), ("openclaw", oc)])
    try:
        for status_filter, text in FILTERS:
            want = _expected(status_filter, text)
            what = f"filter {status_filter!r}, text {text!r}"
            assert _goals(led, status_filter, text) == want, what
            assert _goals(oc, status_filter, text) == want, what
            assert _goals(ours_then, status_filter, text) == want, what
            assert _goals(multi, status_filter, text) == want + want, what
        assert sum(_goals(led, "all", "DO THE").values()) == 1
        assert sum(_goals(oc, "all", "DO THE").values()) == 1
    finally:
        oc.close()


def test_flows_by_ids_keeps_only_those_that_still_match(led: Ledger) -> None:
    _ours(led)
    every = {f.flow_id: f.goal for f in led.list_flows()}
    kept = led.flows_by_ids(list(every), "issues", "THE")
    assert [every[f.flow_id] for f in kept] == ["Import the CSV"]


def test_a_flow_id_prefix_matches_in_any_case() -> None:
    class Flow:
        flow_id, goal, label, status = "flow-ABC123", "a goal", None, "running"

    assert flow_matches(Flow(), [], "all", "flow-abc")
    assert flow_matches(Flow(), [], "all", "FLOW-ABC")
    assert not flow_matches(Flow(), [], "all", "abc")


def test_issues_are_counted_by_one_rule() -> None:
    by = {"failed": 1, "timed_out": 2, "lost": 3, "blocked": 4, "cancelled": 5, "queued": 6, "succeeded": 7}
    assert issue_count(by) == 10


@pytest.mark.parametrize("status_filter", STATUS_FILTERS)
def test_an_empty_ledger_matches_nothing(led: Ledger, status_filter: str) -> None:
    assert _goals(led, status_filter, "") == Counter()
