"""Every read of OpenClawLedger against expectations computed by hand from LEDGER.md's rules.

The standard ledger (tests/openclaw_fixtures.py) is written through its own sqlite3
connection in WAL mode, as OpenClaw's gateway writes it; the reader opens it read-only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openclaw_fixtures import HOUR, MIN, NOW, OpenClawFile, Standard, older_release_ledger

from openclaw_board.ledger import Ambiguous, NotFound
from openclaw_board.ledger.clock import fixed_clock, iso
from openclaw_board.ledger.openclaw import OpenClawLedger, open_any
from openclaw_board.ledger.serialize import event_dict, flow_dict, task_dict


@pytest.fixture
def led(std: Standard):
    with OpenClawLedger(std.url, clock=fixed_clock(NOW)) as ledger:
        yield ledger


def test_task_pressure_counts_every_record_like_openclaw(led: OpenClawLedger) -> None:
    # queued: queued, stale_queued. running: run, stale_running, running_with_end.
    # issues: failed x3 (failed, end_before_start, first_try) + timed_out + lost x3 + blocked (outcome).
    assert led.task_pressure() == {"queued": 2, "running": 3, "issues": 8}


def test_flow_pressure_counts_flow_runs_only(led: OpenClawLedger) -> None:
    # active: running + queued-with-cancel (waiting is counted apart); blocked: 1; issues: the
    # failed mirrored flow; cancel-requested: the queued one only, not the flow that already
    # ended cancelled (as OpenClaw counts it); total: the 7 flow_runs rows.
    assert led.flow_pressure() == {"active": 2, "waiting": 1, "blocked": 1, "issues": 1, "cancel_requested": 1,
                                   "total": 7}


def test_blocked_outcome_is_shown_as_blocked(led: OpenClawLedger, std: Standard) -> None:
    task = led.get_task(std.t["blocked"])
    assert (task.status, task.raw_status, task.terminal_outcome) == ("blocked", "succeeded", "blocked")
    assert [t.task_id for t in led.list_tasks(status="blocked")] == [std.t["blocked"]]


def test_list_tasks_latest_attempts_newest_first(led: OpenClawLedger, std: Standard) -> None:
    rows = led.list_tasks()
    assert std.t["first_try"] not in {t.task_id for t in rows}  # superseded by its retry
    assert len(rows) == 18 and len(led.list_tasks(all_attempts=True)) == 19
    created = [t.created_at for t in rows]
    assert created == sorted(created, reverse=True)
    assert [t.task_id for t in led.list_tasks(runtime="cron", status="queued")] == [std.t["stale_queued"]]
    assert {t.runtime for t in rows} == {"subagent", "acp", "cli", "cron"}
    assert {t.delivery_status for t in rows} >= {"pending", "delivered", "session_queued", "failed",
                                                  "parent_missing", "not_applicable"}


def test_list_tasks_of_a_flow_by_prefix(led: OpenClawLedger, std: Standard) -> None:
    rows = led.list_tasks(flow=std.f["running"][:8])
    assert {t.task_id for t in rows} == {std.t["run"], std.t["queued"]}


def test_task_row_has_our_names_and_openclaw_extras(led: OpenClawLedger, std: Standard) -> None:
    task = led.get_task(std.t["run"])
    d = task_dict(task)
    assert d["flow_id"] == std.f["running"] and d["label"] == "enrich" and d["status"] == "running"
    assert d["command"] == "Enrich the leads"  # the instruction text, as a JSON string
    assert json.loads(task.command_json) == "Enrich the leads"
    assert (d["host"], d["pid"], d["progress_summary"]) == ("gw1", 4242, "42 of 100 leads")
    assert d["started_at"] == iso(NOW - 9 * MIN)
    assert (task.delivery_status, task.notify_policy, task.owner_key, task.scope_kind) == (
        "pending", "done_only", "agent:main:main", "session")
    assert (task.tool_use_count, task.last_tool_name, task.source) == (7, "web_fetch", "openclaw")


def test_label_falls_back_to_the_task_text(led: OpenClawLedger, std: Standard) -> None:
    assert led.get_task(std.t["timed_out"]).label == "Summarize the thread"


def test_start_before_creation_is_normalized(led: OpenClawLedger, std: Standard) -> None:
    task = led.get_task(std.t["start_before_create"])
    assert task.created_at == NOW - 7 * MIN and task.raw_created_at == NOW - 5 * MIN


def test_get_by_prefix_run_id_and_session_key(led: OpenClawLedger, std: Standard) -> None:
    tid = std.t["run"]
    assert led.get_task(tid[:10]).task_id == tid
    assert led.get_task(tid[:10].upper()).task_id == tid
    assert led.get_task("run-enrich").task_id == tid
    assert led.get_task("agent:main:subagent:enrich").task_id == tid
    assert led.get_flow(std.f["waiting"][:12]).goal == "Plan the offsite"
    with pytest.raises(NotFound):
        led.get_task("nope-no-such")
    with pytest.raises(NotFound):
        led.get_flow("")


def test_ambiguous_prefix(tmp_path: Path) -> None:
    from openclaw_fixtures import OpenClawFile

    fx = OpenClawFile(tmp_path / "oc.sqlite")
    fx.add_task(task_id="abc-1")
    fx.add_task(task_id="abc-2")
    with OpenClawLedger(f"openclaw://{tmp_path / 'oc.sqlite'}") as led:
        with pytest.raises(Ambiguous, match="abc-1, abc-2"):
            led.get_task("abc")
        assert led.get_task("abc-2").task_id == "abc-2"
    fx.close()


def test_flows_include_standalone_tasks_as_one_task_flows(led: OpenClawLedger, std: Standard) -> None:
    flows = led.list_flows()
    real = [f for f in flows if not f.standalone]
    standalone = [f for f in flows if f.standalone]
    assert len(real) == 7
    # 13 standalone tasks, but the retry chain shares one flow (its first attempt's id).
    assert len(standalone) == 12
    chain = led.get_flow(std.t["first_try"])
    assert chain.standalone and chain.status == "succeeded" and chain.label == "flaky"
    assert {t.task_id for t in led.flow_attempts(chain.flow_id)} == {std.t["first_try"], std.t["second_try"]}
    assert led.get_flow(std.t["timed_out"]).status == "failed"  # as a mirrored flow shows timed_out
    assert led.get_flow(std.t["lost_expired"]).status == "lost"
    created = [f.created_at for f in flows]
    assert created == sorted(created, reverse=True)
    assert [f.flow_id for f in led.list_flows(status="waiting")] == [std.f["waiting"]]


def test_flow_row_serializes_with_counts(led: OpenClawLedger, std: Standard) -> None:
    flow = led.get_flow(std.f["blocked"])
    counts = led.task_counts([flow.flow_id])
    d = flow_dict(flow, counts.get(flow.flow_id, {}))
    assert d["status"] == "blocked" and d["task_counts"] == {"blocked": 1}
    assert d["ended_at"] == iso(NOW - HOUR) and d["notify"] == "done_only"
    assert flow.blocked_task_id == std.t["blocked"] and flow.blocked_summary == "needs a human"
    assert led.get_flow(std.f["mirrored"]).sync_mode == "task_mirrored"


def test_task_counts(led: OpenClawLedger, std: Standard) -> None:
    counts = led.task_counts()
    assert counts[std.f["running"]] == {"running": 1, "queued": 1}
    assert counts[std.t["first_try"]] == {"succeeded": 1}  # latest attempt only
    assert led.task_counts([]) == {}
    assert set(led.task_counts([std.f["running"]])) == {std.f["running"]}


def test_attempts_from_the_retry_chain(led: OpenClawLedger, std: Standard) -> None:
    first, second = led.get_task(std.t["first_try"]), led.get_task(std.t["second_try"])
    assert (first.attempt, first.is_latest, second.attempt, second.is_latest) == (1, False, 2, True)
    assert second.parent_task_id == first.task_id and second.flow_id == first.flow_id == first.task_id
    assert [t.task_id for t in led.attempts_of(first)] == [first.task_id, second.task_id]
    assert [t.task_id for t in led.attempts_of(second)] == [first.task_id, second.task_id]
    assert [t.task_id for t in led.attempts_of(led.get_task(std.t["run"]))] == [std.t["run"]]


def test_task_events_synthesized_from_timestamps(led: OpenClawLedger, std: Standard) -> None:
    evs = led.task_events(std.t["ok"])
    assert [(e.kind, e.from_status, e.to_status) for e in evs] == [
        ("task_added", None, "queued"), ("started", "queued", "running"),
        ("finished", "running", "succeeded"), ("delivery", None, None)]
    assert [e.at for e in evs] == [NOW - 3 * HOUR, NOW - 3 * HOUR + MIN, NOW - 2 * HOUR, NOW - 2 * HOUR]
    assert evs[2].detail == "digest sent"
    d = event_dict(evs[0])
    assert d["at"] == iso(NOW - 3 * HOUR) and d["actor"] == "openclaw" and d["task_id"] == std.t["ok"]
    running = led.task_events(std.t["run"])
    assert [e.kind for e in running] == ["task_added", "started", "progress"]
    assert running[-1].detail == "42 of 100 leads"
    assert [e.kind for e in led.task_events(std.t["cancelled"])][-1] == "cancelled"
    assert led.task_events("no-such") == []


def test_flow_events_merge_the_flow_and_its_tasks(led: OpenClawLedger, std: Standard) -> None:
    evs = led.flow_events(std.f["cancelled"])
    assert [e.kind for e in evs] == ["submitted", "task_added", "started", "cancel_requested",
                                     "cancelled", "flow_status"]
    assert [e.id for e in evs] == list(range(1, 7))
    assert [e.kind for e in led.flow_events(std.f["cancelled"], until=NOW - 55 * MIN)] == [
        "submitted", "task_added", "started"]


def test_supervisors_are_empty(led: OpenClawLedger) -> None:
    assert led.supervisors() == [] and led.supervisors(live_only=True) == []
    assert led.owned_by("x") == [] and led.cancel_requests("x") == []


def test_older_release_without_optional_columns(tmp_path: Path) -> None:
    fx = older_release_ledger(tmp_path / "runs.sqlite")
    with open_any(f"openclaw://{tmp_path / 'runs.sqlite'}", clock=fixed_clock(NOW)) as led:
        assert not led.schema.has_cleanup_after and led.schema.Flow is None
        assert led.task_pressure() == {"queued": 1, "running": 1, "issues": 1}
        assert led.flow_pressure() == {"active": 0, "waiting": 0, "blocked": 0, "issues": 0, "cancel_requested": 0,
                                       "total": 0}
        task = led.get_task("old-done")
        assert (task.terminal_outcome, task.host, task.cleanup_after, task.label) == (None, None, None, "ls -la")
        assert task_dict(task)["status"] == "succeeded"
        assert len(led.list_flows()) == 4 and all(f.standalone for f in led.list_flows())
        # No cleanup_after column reads as unstamped, as openclaw reads this file once its
        # `doctor --fix` migrated it (bench/openclaw_parity.py): the terminal record lacks a
        # cleanup, and the lost one is not retained.
        assert sorted((f.code, f.severity, f.task_id) for f in led.audit()) == [
            ("lost", "error", "old-lost"), ("missing_cleanup", "warn", "old-done"),
            ("stale_queued", "warn", "old-stale")]
    fx.close()


def test_board_filters(led: OpenClawLedger, std: Standard) -> None:
    ids = lambda rows: {f.flow_id for f in rows}  # noqa: E731
    active = ids(led.flows_matching("active"))
    assert {std.f["running"], std.f["waiting"], std.f["cancel_pending"], std.t["stale_queued"]} <= active
    assert std.f["succeeded"] not in active
    issues = ids(led.flows_matching("issues"))
    assert {std.f["blocked"], std.f["mirrored"], std.t["lost_expired"], std.t["timed_out"]} <= issues
    assert std.f["succeeded"] not in issues and std.t["first_try"] not in issues  # its retry succeeded
    assert ids(led.flows_matching("blocked")) == {std.f["blocked"]}
    assert ids(led.flows_matching("all", "enrich")) == {std.f["running"]}
    assert ids(led.flows_matching("all", "Refund")) == {std.f["blocked"]}
    latest = led.latest_tasks_of([std.f["running"], std.t["first_try"]])
    assert [t.task_id for t in latest[std.f["running"]]] == [std.t["run"], std.t["queued"]]
    assert [t.task_id for t in latest[std.t["first_try"]]] == [std.t["second_try"]]


def test_cancel_requested_counts_only_flows_still_live(tmp_path: Path) -> None:
    """As OpenClaw counts it, a flow that already ended is not cancel-requested; a blocked flow with no
    end is not terminal yet, one with an end is."""
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    asked = {"cancel_requested_at": NOW - 10 * MIN}
    for status in ("queued", "running", "waiting"):
        fx.add_flow(status=status, **asked)
    fx.add_flow(status="blocked", **asked)  # no end: still live
    for status in ("succeeded", "failed", "cancelled", "lost", "blocked"):
        fx.add_flow(status=status, ended_at=NOW - 5 * MIN, **asked)
    with OpenClawLedger(f"openclaw://{fx.path}", clock=fixed_clock(NOW)) as led:
        assert led.flow_pressure() == {"active": 2, "waiting": 1, "blocked": 2, "issues": 2, "cancel_requested": 4,
                                       "total": 9}
        # `--status S` narrows the counts, as `openclaw tasks flow list --status S` does.
        assert led.flow_pressure(status="cancelled") == {"active": 0, "waiting": 0, "blocked": 0, "issues": 0,
                                                         "cancel_requested": 0, "total": 1}
        assert led.flow_pressure(status="blocked")["cancel_requested"] == 1
    fx.close()


def test_times_are_read_as_openclaw_reads_them(led: OpenClawLedger, std: Standard) -> None:
    """Created no later than anything else, ended no earlier than started (normalizeTaskTimestamps)."""
    early = led.get_task(std.t["start_before_create"])
    assert (early.created_at, early.started_at, early.raw_created_at) == (NOW - 7 * MIN, NOW - 7 * MIN, NOW - 5 * MIN)
    backwards = led.get_task(std.t["end_before_start"])
    assert (backwards.started_at, backwards.ended_at) == (NOW - 10 * MIN, NOW - 10 * MIN)
    live = led.get_task(std.t["running_with_end"])  # kept: the audit reports it
    assert (live.ended_at, live.last_event_at) == (NOW - MIN, NOW - MIN)


def test_status_filter_is_openclaws(led: OpenClawLedger, std: Standard) -> None:
    """`--status succeeded` also lists runs that succeeded with outcome blocked (shown as blocked)."""
    succeeded = {t.task_id for t in led.list_tasks(status="succeeded", all_attempts=True)}
    assert std.t["blocked"] in succeeded and std.t["ok"] in succeeded and len(succeeded) == 6
    assert [t.task_id for t in led.list_tasks(status="blocked")] == [std.t["blocked"]]
    assert led.task_pressure(status="succeeded") == {"queued": 0, "running": 0, "issues": 1}
    assert led.task_pressure(runtime="cron") == {"queued": 1, "running": 0, "issues": 1}
