"""The multi-ledger: each action and per-record read goes to the ledger that holds the id,
reads merge, the change feed numbers every source's events on one counter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_testkit import spec
from openclaw_fixtures import NOW, OpenClawFile

from openclaw_board.ledger import Ledger, NotFound
from openclaw_board.ledger.api import OPERATOR_VERBS, operator_action
from openclaw_board.ledger.clock import fixed_clock
from openclaw_board.ledger.multi import MultiLedger
from openclaw_board.ledger.openclaw import OpenClawLedger, ReadOnlyLedger


@pytest.fixture
def oc(tmp_path: Path) -> Iterator[OpenClawLedger]:
    fx = OpenClawFile(tmp_path / "openclaw.sqlite")
    flow_id = fx.add_flow(flow_id="oc-flow-1", goal="Their flow", status="running")
    fx.add_task(task_id="oc-task-1", parent_flow_id=flow_id, label="theirs", status="running",
                task="summarise the inbox", started_at=NOW - 1000)
    fx.close()
    with OpenClawLedger(f"openclaw://{tmp_path / 'openclaw.sqlite'}", clock=fixed_clock(NOW)) as ledger:
        yield ledger


def test_actions_and_reads_go_to_the_ledger_holding_the_id(led: Ledger, oc: OpenClawLedger) -> None:
    flow_id, ids = led.submit(spec({"label": "a", "env": {"X": "1"}}, {"label": "b", "after": ["a"]}, goal="Ours"))
    multi = MultiLedger([("board", led), ("openclaw", oc)])

    assert multi.get_task(ids["a"][:8]).task_id == ids["a"]
    assert multi.get_task("oc-task").task_id == "oc-task-1"
    with pytest.raises(NotFound):
        multi.get_task("0000dead")

    b = multi.get_task(ids["b"])
    assert multi.after_of(b) == ["a"]
    assert multi.env_of(multi.get_task(ids["a"])) == {"X": "1"}
    assert multi.command_of(b) == ["true"]
    assert multi.command_of(multi.get_task("oc-task-1")) == "summarise the inbox"
    assert [t.label for t in multi.latest_attempts(flow_id)] == ["a", "b"]

    cancelled = multi.cancel_task(ids["a"], "test")
    assert cancelled.status == "cancelled" and led.get_task(ids["a"]).status == "cancelled"
    assert led.get_task(ids["b"]).status == "cancelled"  # its dependent, as on our ledger alone
    retried = multi.retry(ids["a"], "test")
    assert retried.attempt == 2 and [t.attempt for t in multi.attempts_of(retried)] == [1, 2]
    assert [e.kind for e in multi.task_events(retried.task_id)][0] == "retried"
    assert len(multi.flow_attempts(flow_id)) == 4
    assert multi.flow_events(flow_id)[0].kind == "submitted"

    with pytest.raises(ReadOnlyLedger):
        multi.approve("oc-task-1", "test")  # OpenClaw's: refused there, never tried on ours
    assert multi.cancel_flow(flow_id, "test").cancel_requested_at is not None


def test_operator_action_names_every_verb(led: Ledger) -> None:
    _, ids = led.submit(spec({"label": "a", "requires_approval": True}))
    for verb in OPERATOR_VERBS:
        assert callable(operator_action(led, verb))
    operator_action(led, "approve")(ids["a"], "test")
    assert led.get_task(ids["a"]).status == "queued"
    with pytest.raises(ValueError, match="no operator action"):
        operator_action(led, "submit")


def test_merged_reads_name_their_source_and_feed_one_counter(led: Ledger, oc: OpenClawLedger) -> None:
    multi = MultiLedger([("board", led), ("openclaw", oc)])
    start = multi.last_event_id()
    flow_id, _ = led.submit(spec({"label": "a"}, goal="Ours"))
    events = multi.events_since(start)
    assert events and {e.source for e in events} == {"board"} and all(e.flow_id == flow_id for e in events)
    assert [e.id for e in events] == list(range(start + 1, start + 1 + len(events)))
    assert multi.events_since(events[-1].id) == []

    active, _, _ = multi.board_flows("all", "", active_cap=10, terminal_limit=10)
    assert {f.goal for f in active} == {"Ours", "Their flow"}
    assert multi.source_of(flow_id) == "board" and multi.source_of("oc-flow-1") == "openclaw"
    assert multi.task_pressure()["running"] == 1  # theirs
    assert multi.data_version() is None


def test_busy_timeout_reaches_every_source(led: Ledger, oc: OpenClawLedger) -> None:
    multi = MultiLedger([("board", led), ("openclaw", oc)])
    multi.set_busy_timeout(1234)
    assert oc.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 1234
    if led.is_sqlite:
        assert led.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 1234
