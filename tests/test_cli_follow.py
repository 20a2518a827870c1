"""`tasks follow` / `flows follow`: every event once, in order, across a reconnect, on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from supervisor_support import wait_for

from openclaw_board.cli.follow_cmds import tail_growth
from openclaw_board.ledger import Ledger, command_spec, parse_spec
from openclaw_board.ledger.follow import EventFollower, flow_scope
from openclaw_board.supervisor import Supervisor


def follow_cmd(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "openclaw_board", "--db", url, *args]


def supervise(url: str) -> threading.Thread:
    thread = threading.Thread(target=lambda: Supervisor(url, concurrency=2, poll_interval_s=0.05).run(until_idle=True),
                              daemon=True)
    thread.start()
    return thread


def test_tasks_follow_streams_transitions_and_output_until_the_task_ends(ledger: Ledger) -> None:
    _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
        {"label": "talk", "command": ["sh", "-c", "echo one; sleep 0.3; echo two; exit 3"]}]}))
    proc = subprocess.Popen(follow_cmd(ledger.url, "tasks", "follow", ids["talk"], "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    supervise(ledger.url).join(60)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr  # the task failed: so does the follow
    lines = [json.loads(line) for line in stdout.splitlines()]
    events = [x for x in lines if x["type"] == "event"]
    assert [x["line"] for x in lines if x["type"] == "output"] == ["one", "two"]
    assert lines[-1] == {"type": "end", "status": "failed"}
    assert [e["to"] for e in events if e["to"]][-2:] == ["running", "failed"]
    ids_seen = [e["event_id"] for e in events]
    assert ids_seen == sorted(set(ids_seen))
    assert ids_seen == [ev.id for ev in ledger.task_events(ids["talk"])]


def test_flows_follow_resumed_after_a_disconnect_sees_every_event_once(ledger: Ledger, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    flow_id, _ = ledger.submit(parse_spec({"goal": "g", "tasks": [
        {"label": "a", "command": ["true"]},
        {"label": "b", "command": ["sh", "-c", f'while [ ! -e "{gate}" ]; do sleep 0.05; done'], "after": ["a"]},
        {"label": "c", "command": ["true"], "after": ["b"]}]}))
    first = subprocess.Popen(follow_cmd(ledger.url, "flows", "follow", flow_id, "--json"),
                             stdout=subprocess.PIPE, text=True)
    sup = supervise(ledger.url)
    seen: list[dict] = []
    assert first.stdout is not None
    while not any(x.get("label") == "b" and x.get("to") == "running" for x in seen):
        seen.append(json.loads(first.stdout.readline()))
    first.kill()  # the connection drops mid-flow
    first.wait(10)
    last = max(x["event_id"] for x in seen if x["type"] == "event")
    gate.touch()
    resumed = subprocess.run(follow_cmd(ledger.url, "flows", "follow", flow_id, "--json", "--since", str(last)),
                             capture_output=True, text=True, timeout=60)
    sup.join(60)
    assert resumed.returncode == 0, resumed.stderr
    after = [json.loads(line) for line in resumed.stdout.splitlines()]
    got = [x["event_id"] for x in seen + after if x["type"] == "event"]
    assert got == [ev.id for ev in ledger.flow_events(flow_id)]  # each once, in order, none lost
    assert after[-1] == {"type": "end", "status": "succeeded"}


def test_follow_of_an_unknown_task_is_one_line(ledger: Ledger) -> None:
    proc = subprocess.run(follow_cmd(ledger.url, "tasks", "follow", "nope"), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and len(proc.stderr.splitlines()) == 1


@pytest.mark.postgres
def test_an_event_committed_late_with_a_lower_id_is_not_skipped(pg_url: str, home: Path) -> None:
    """PostgreSQL commits in any order: event N+1 visible while N's transaction is still open.
    The follower holds N+1 back until N's transaction ends, then hands out both, in order."""
    import psycopg2

    insert = "INSERT INTO event (at, flow_id, task_id, kind, actor) VALUES (0, %s, NULL, %s, 'test') RETURNING id"
    with Ledger(pg_url) as ledger:
        flow_id, _ = ledger.submit(parse_spec({"goal": "g", "tasks": [{"label": "a", "command": ["true"]}]}))
        follower = EventFollower(flow_scope(ledger, flow_id))
        submitted = [ev.id for ev in ledger.flow_events(flow_id)]
        before: list[int] = []  # other tests' transactions on the server may hold these back a moment
        wait_for(lambda: before.extend(e.event_id for e in follower.poll()) or before == submitted, "the submit")
        slow, fast = psycopg2.connect(pg_url), psycopg2.connect(pg_url)
        try:
            with slow.cursor() as cur:
                cur.execute(insert, (flow_id, "slow"))  # takes id N, commits later
                low = cur.fetchone()[0]
            with fast.cursor() as cur:
                cur.execute(insert, (flow_id, "fast"))  # takes N+1, commits now
                high = cur.fetchone()[0]
            fast.commit()
            assert max(before) < low < high
            assert follower.poll() == []  # N+1 is visible, but N may still come: held back
            assert follower.poll() == []
            slow.commit()
            got: list[int] = []
            wait_for(lambda: got.extend(e.event_id for e in follower.poll()) or len(got) >= 2, "held-back events")
            assert got == [low, high]
        finally:
            slow.close()
            fast.close()


def test_tail_growth_reads_a_sliding_window() -> None:
    assert tail_growth([], ["a", "b"]) == (["a", "b"], False)
    assert tail_growth(["a", "b"], ["a", "b", "c"]) == (["c"], False)
    assert tail_growth(["x", "a", "b"], ["a", "b", "c"]) == (["c"], False)  # the window slid
    assert tail_growth(["t", "t", "t"], ["t", "t", "t", "t"]) == (["t"], False)
    assert tail_growth(["a", "b"], ["c", "d"]) == (["c", "d"], True)  # more than a window between looks
    assert tail_growth(["a"], ["a"]) == ([], False)


def test_follow_of_a_run_on_another_host_streams_its_ledger_tail_once(ledger: Ledger, home: Path) -> None:
    _, ids = ledger.submit(command_spec("far away", ["true"]))
    sup = ledger.register_supervisor("far-host", 4242, None)
    task = ledger.claim_next(sup.supervisor_id, "far-host").task
    ledger.record_process(task.task_id, sup.supervisor_id, 4243, None, "/srv/far/runs/x")
    ledger.report_progress(task.task_id, sup.supervisor_id, log_tail="one\ntwo\nthr")
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), "OPENCLAW_BOARD_HOST": "near-host"}
    proc = subprocess.Popen(follow_cmd(ledger.url, "tasks", "follow", ids["main"], "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    seen: list[dict] = []
    try:
        while not any(x.get("line") == "two" for x in seen):
            seen.append(json.loads(proc.stdout.readline()))
        # The window slides: "one" scrolled out, "three" ended, "four" came; at the end a last line
        # with no newline.
        ledger.report_progress(task.task_id, sup.supervisor_id, log_tail="two\nthree\nfour\n")
        while not any(x.get("line") == "four" for x in seen):
            seen.append(json.loads(proc.stdout.readline()))
        ledger.report_progress(task.task_id, sup.supervisor_id, log_tail="three\nfour\nlast words")
        ledger.finish(task.task_id, "succeeded", supervisor_id=sup.supervisor_id, exit_code=0)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed look must not leave a follow running for ever
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    seen += [json.loads(line) for line in stdout.splitlines()]
    assert [x["line"] for x in seen if x["type"] == "output"] == ["one", "two", "three", "four", "last words"]
    assert seen[-1] == {"type": "end", "status": "succeeded"}
