"""What the supervisor claims and when: retries after their backoff, dependencies, approval, limits."""

from __future__ import annotations

import threading
from pathlib import Path

from supervisor_support import run_idle

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.supervisor import Supervisor


def counter(path: Path, code: int = 0) -> list[str]:
    """A command that appends one line per run to `path`, then exits with `code`."""
    return ["sh", "-c", 'echo run >> "$0"; exit ' + str(code), str(path)]


def runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_automatic_retry_waits_for_its_backoff(ledger: Ledger, tmp_path: Path) -> None:
    count = tmp_path / "count"
    _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
        {"label": "flaky", "command": counter(count, 2), "retries": 2, "retry_backoff": "300ms"}]}))
    run_idle(ledger.url, concurrency=2)
    attempts = ledger.attempts_of(ledger.get_task(ids["flaky"]))
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.status for a in attempts] == ["failed"] * 3
    assert all(a.exit_code == 2 for a in attempts)
    assert runs(count) == 3
    for prev, nxt, backoff in ((attempts[0], attempts[1], 300), (attempts[1], attempts[2], 600)):
        assert nxt.not_before >= prev.ended_at + backoff
        assert nxt.started_at >= nxt.not_before  # the supervisor did not start it early


def test_dependencies_run_in_order_and_a_failed_one_cancels_its_dependents(ledger: Ledger, tmp_path: Path) -> None:
    _, ok = ledger.submit(parse_spec({"goal": "chain", "tasks": [
        {"label": "a", "command": counter(tmp_path / "a")},
        {"label": "b", "command": counter(tmp_path / "b"), "after": ["a"]},
        {"label": "c", "command": counter(tmp_path / "c"), "after": ["a", "b"]},
    ]}))
    bad_flow, bad = ledger.submit(parse_spec({"goal": "broken", "tasks": [
        {"label": "x", "command": counter(tmp_path / "x", 1)},
        {"label": "y", "command": counter(tmp_path / "y"), "after": ["x"]},
    ]}))
    run_idle(ledger.url, concurrency=4)
    a, b, c = (ledger.get_task(ok[k]) for k in "abc")
    assert [t.status for t in (a, b, c)] == ["succeeded"] * 3
    assert b.started_at >= a.ended_at and c.started_at >= b.ended_at
    y = ledger.get_task(bad["y"])
    assert ledger.get_task(bad["x"]).status == "failed"
    assert (y.status, y.error) == ("cancelled", "dependency 'x' ended failed")
    assert runs(tmp_path / "y") == 0
    assert ledger.get_flow(bad_flow).status == "failed"


def test_approval_is_respected(ledger: Ledger, tmp_path: Path) -> None:
    count = tmp_path / "count"
    _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
        {"label": "deploy", "command": counter(count), "requires_approval": True}]}))
    run_idle(ledger.url, concurrency=1)
    assert ledger.get_task(ids["deploy"]).status == "awaiting_approval"
    assert runs(count) == 0
    ledger.approve(ids["deploy"], actor="test")
    run_idle(ledger.url, concurrency=1)
    assert ledger.get_task(ids["deploy"]).status == "succeeded"
    assert runs(count) == 1


def test_concurrency_and_runtime_limits_hold(sqlite_url: str, tmp_path: Path) -> None:
    """Each task records how many tasks of its runtime run beside it (a lock-free census)."""
    census = tmp_path / "census"
    census.mkdir()
    body = ('mkdir -p "$0/$1"; touch "$0/$1/$$"; ls "$0/$1" | wc -l >> "$0/$1.seen"; '
            'find "$0" -mindepth 2 -type f | wc -l >> "$0/all.seen"; sleep 0.3; rm "$0/$1/$$"')
    tasks = [{"label": f"{rt}{i}", "runtime": rt, "command": ["sh", "-c", body, str(census), rt]}
             for rt in ("cli", "agent") for i in range(4)]
    with Ledger(sqlite_url) as ledger:
        flow_id, _ = ledger.submit(parse_spec({"goal": "g", "tasks": tasks}))
        run_idle(sqlite_url, concurrency=3, runtime_limits={"cli": 1})
        assert ledger.get_flow(flow_id).status == "succeeded"
    assert max(int(n) for n in (census / "cli.seen").read_text().split()) == 1
    assert max(int(n) for n in (census / "agent.seen").read_text().split()) <= 3
    assert max(int(n) for n in (census / "all.seen").read_text().split()) <= 3


def test_until_idle_waits_for_a_retry_in_backoff(sqlite_url: str, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    # Fails the first time (creating the flag), succeeds on the retry.
    cmd = ["sh", "-c", 'if [ -e "$0" ]; then exit 0; fi; touch "$0"; exit 1', str(flag)]
    with Ledger(sqlite_url) as ledger:
        _, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
            {"label": "t", "command": cmd, "retries": 1, "retry_backoff": "500ms"}]}))
        done = threading.Event()
        sup = Supervisor(sqlite_url, concurrency=1, poll_interval_s=0.05)
        thread = threading.Thread(target=lambda: (sup.run(until_idle=True), done.set()))
        thread.start()
        thread.join(30)
        assert done.is_set()
        attempts = ledger.attempts_of(ledger.get_task(ids["t"]))
        assert [a.status for a in attempts] == ["failed", "succeeded"]
