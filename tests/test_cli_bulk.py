"""`tasks cancel|retry --status S [--flow F] [--yes]`: counts, names, asks, then acts on each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openclaw_board.ledger import Ledger, parse_spec


def cli(url: str, *args: str, stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", "--db", url, *args], capture_output=stdin is None,
                          stdin=stdin if stdin is not None else subprocess.DEVNULL, text=True, timeout=60,
                          **({"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if stdin is not None else {}))


def three_failed(ledger: Ledger) -> tuple[str, list[str]]:
    flow_id, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
        {"label": f"t{i}", "command": ["false"]} for i in range(3)]}))
    for _ in ids:
        task = ledger.claim_next("sup-1", "h").task
        assert task is not None
        ledger.finish(task.task_id, "failed", supervisor_id="sup-1", exit_code=1)
    return flow_id, list(ids.values())


def test_without_a_terminal_nothing_happens_unless_yes(ledger: Ledger) -> None:
    _, ids = three_failed(ledger)
    asked = cli(ledger.url, "tasks", "retry", "--status", "failed")
    assert asked.returncode == 1 and asked.stderr.startswith("error: Retry 3 tasks: ") and "t0 (" in asked.stderr
    assert "--yes" in asked.stderr and asked.stderr.count("\n") == 1
    assert all(ledger.get_task(t).status == "failed" for t in ids)  # nothing was done
    done = json.loads(cli(ledger.url, "tasks", "retry", "--status", "failed", "--yes", "--json").stdout)
    assert done["count"] == 3 and done["refused"] == []
    assert sorted(t["parent_task_id"] for t in done["tasks"]) == sorted(ids)


def test_the_question_on_a_terminal_defaults_to_no(ledger: Ledger) -> None:
    flow_id, ids = three_failed(ledger)
    for answer, expected in ((b"\n", "failed"), (b"y\n", "queued")):
        main, child = os.openpty()
        try:
            proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "--db", ledger.url, "tasks", "retry",
                                     "--status", "failed", "--flow", flow_id[:8]], stdin=child,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            os.write(main, answer)
            _, stderr = proc.communicate(timeout=60)
        finally:
            os.close(main)
            os.close(child)
        assert b"Retry 3 tasks" in stderr
        latest = {t.label: t.status for t in ledger.list_tasks(flow=flow_id)}
        assert set(latest.values()) == {expected}, stderr
        assert proc.returncode == (1 if expected == "failed" else 0)


def test_statuses_a_verb_cannot_apply_to_are_usage_errors(ledger: Ledger, tmp_path: Path) -> None:
    for args in (("cancel", "--status", "succeeded"), ("retry", "--status", "running"), ("cancel", "--status", "nope"),
                 ("cancel",), ("cancel", "abc", "--status", "queued"), ("cancel", "abc", "--yes")):
        proc = cli(ledger.url, "tasks", *args)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, args


def test_cancel_by_status_acts_on_each_and_reports_the_refused(ledger: Ledger) -> None:
    flow_id, ids = ledger.submit(parse_spec({"goal": "g", "tasks": [
        {"label": f"q{i}", "command": ["true"]} for i in range(4)]}))
    proc = cli(ledger.url, "tasks", "cancel", "--status", "queued", "--flow", flow_id, "--yes")
    assert proc.returncode == 0 and "4 tasks cancelled" in proc.stderr
    assert {ledger.get_task(t).status for t in ids.values()} == {"cancelled"}
    empty = cli(ledger.url, "tasks", "cancel", "--status", "queued", "--yes")
    assert empty.returncode == 0 and "no queued tasks" in empty.stderr
