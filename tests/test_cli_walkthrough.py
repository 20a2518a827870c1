"""The whole CLI walkthrough, through the real console script in a subprocess.

Submit a three-task flow with dependencies from a spec file, list and show it as text and
JSON, cancel, retry, reopen, see the audit. The supervisor's part (claim, finish) is played
by the real Ledger API in this process, on the same ledger file or PostgreSQL schema.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import run_cli

from openclaw_board.ledger import Ledger

TASK_KEYS = {
    "task_id", "flow_id", "label", "runtime", "status", "attempt", "parent_task_id", "command",
    "exit_code", "error", "progress", "progress_summary", "terminal_summary", "created_at",
    "started_at", "ended_at", "cancel_requested_at", "supervisor_id", "host", "pid",
}
FLOW_KEYS = {
    "flow_id", "goal", "label", "status", "notify", "cancel_requested_at", "created_at",
    "updated_at", "ended_at", "task_counts",
}
EVENT_KEYS = {"at", "kind", "from", "to", "detail"}

SPEC = """
goal = "Nightly lead enrichment"
label = "leads"

[[tasks]]
label = "fetch"
command = ["python3", "fetch.py"]
timeout = "10m"

[[tasks]]
label = "enrich"
command = ["python3", "enrich.py", "--region", "eu"]
after = ["fetch"]

[[tasks]]
label = "publish"
command = ["python3", "publish.py"]
after = ["enrich"]
"""


def cli(*args: str, db: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = run_cli(*(["--db", db] if db else []), *args, env={"NO_COLOR": "1"})
    if ok:
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
    return proc


def js(*args: str, db: str | None = None) -> dict:
    """The command's JSON output (`--json` goes before a `--`, where it is still an option)."""
    at = args.index("--") if "--" in args else len(args)
    return json.loads(cli(*args[:at], "--json", *args[at:], db=db).stdout)


def run_one(url: str, label: str, status: str, sid: str) -> None:
    """Play the supervisor: claim the next runnable task, check it is `label`, finish it."""
    with Ledger(url) as led:
        task = led.claim_next(sid, "testhost").task
        assert task is not None and task.label == label
        led.finish(task.task_id, status, supervisor_id=sid, exit_code=0 if status == "succeeded" else 1)


@pytest.mark.slow  # ~25 subprocesses of the real console script
def test_done_when_walkthrough(ledger_url: str, tmp_path: Path) -> None:
    db = ledger_url
    spec = tmp_path / "flow.toml"
    spec.write_text(SPEC)
    with Ledger(db) as led:
        sid = led.register_supervisor("testhost", os.getpid(), None, lease_ms=3_600_000).supervisor_id

    # Submit: the flow id alone on stdout.
    flow_id = cli("submit", str(spec), db=db).stdout.strip()
    assert len(flow_id) == 36 and flow_id.count("-") == 4

    # Lists and shows, as text.
    text = cli("flows", "list", db=db).stdout
    assert "Flow pressure: 1 active · 0 blocked · 0 cancel-requested · 1 total" in text
    assert flow_id[:8] in text and "Nightly lead enrichment" in text and flow_id not in text
    text = cli("tasks", "list", db=db).stdout
    assert "Task pressure: 3 queued · 0 running · 0 issues" in text
    for label in ("fetch", "enrich", "publish"):
        assert label in text
    text = cli("flows", "show", flow_id[:6], db=db).stdout
    assert flow_id in text and "Attempts (3, oldest first)" in text

    # ... and as JSON, with exactly the documented keys.
    flows = js("flows", "list", db=db)
    assert set(flows) == {"count", "flows"} and flows["count"] == 1
    assert set(flows["flows"][0]) == FLOW_KEYS
    assert flows["flows"][0]["task_counts"] == {"queued": 3}
    shown = js("flows", "show", flow_id, db=db)
    assert set(shown) == FLOW_KEYS | {"tasks"}
    assert sorted(t["label"] for t in shown["tasks"]) == ["enrich", "fetch", "publish"]
    assert all(set(t) == TASK_KEYS for t in shown["tasks"])
    tasks = js("tasks", "list", db=db)
    assert set(tasks) == {"count", "tasks"} and tasks["count"] == 3
    by_label = {t["label"]: t for t in tasks["tasks"]}
    assert by_label["enrich"]["command"] == ["python3", "enrich.py", "--region", "eu"]
    fetch = by_label["fetch"]["task_id"]
    detail = js("tasks", "show", fetch[:10], db=db)
    assert set(detail) == TASK_KEYS | {"events"}
    assert detail["events"] and all(EVENT_KEYS <= set(e) <= EVENT_KEYS | {"actor"} for e in detail["events"])
    assert detail["events"][0]["to"] == "queued"

    # fetch fails: its dependents are cancelled, the flow has failed.
    run_one(db, "fetch", "failed", sid)
    tasks = {t["label"]: t for t in js("tasks", "list", "--flow", flow_id, db=db)["tasks"]}
    assert tasks["fetch"]["status"] == "failed"
    assert tasks["enrich"]["status"] == tasks["publish"]["status"] == "cancelled"
    assert "dependency 'fetch' ended failed" in tasks["enrich"]["error"]
    assert js("flows", "show", flow_id, db=db)["status"] == "failed"
    assert "Task pressure: 0 queued · 0 running · 1 issue" in cli("tasks", "list", db=db).stdout

    # Retry fetch: a new attempt, and what waited on it comes back.
    retried = js("tasks", "retry", fetch[:8], db=db)
    assert set(retried) == TASK_KEYS
    assert retried["attempt"] == 2 and retried["parent_task_id"] == fetch and retried["status"] == "queued"
    latest = {t["label"]: t["status"] for t in js("tasks", "list", "--flow", flow_id, db=db)["tasks"]}
    assert latest == {"fetch": "queued", "enrich": "queued", "publish": "queued"}
    everything = js("tasks", "list", "--all-attempts", db=db)
    assert everything["count"] == 6
    shown = js("flows", "show", flow_id, db=db)
    assert len(shown["tasks"]) == 6 and shown["status"] == "queued"

    # fetch succeeds this time; then the operator cancels the flow.
    run_one(db, "fetch", "succeeded", sid)
    out = cli("flows", "cancel", flow_id[:8], db=db).stdout
    assert "cancel" in out and "cancelled" in out
    flows = js("flows", "list", db=db)["flows"]
    assert flows[0]["status"] == "cancelled" and flows[0]["cancel_requested_at"] is not None
    assert flows[0]["task_counts"] == {"succeeded": 1, "cancelled": 2}
    # A cancelled flow is reopened, not retried task by task.
    enrich = next(t for t in js("tasks", "list", "--flow", flow_id, db=db)["tasks"] if t["label"] == "enrich")
    refused = cli("tasks", "retry", enrich["task_id"], db=db, ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error:") and "reopen" in refused.stderr

    reopened = js("flows", "reopen", flow_id, db=db)
    assert set(reopened) == FLOW_KEYS
    assert reopened["status"] in ("queued", "running") and reopened["cancel_requested_at"] is None
    latest = {t["label"]: (t["status"], t["attempt"])
              for t in js("tasks", "list", "--flow", flow_id, db=db)["tasks"]}
    assert latest == {"fetch": ("succeeded", 2), "enrich": ("queued", 3), "publish": ("queued", 3)}

    # Run it to the end; the audit is clean.
    run_one(db, "enrich", "succeeded", sid)
    run_one(db, "publish", "succeeded", sid)
    assert js("flows", "show", flow_id, db=db)["status"] == "succeeded"
    audit = js("audit", db=db)
    assert audit == {"count": 0, "findings": []}
    assert "Audit: no findings" in cli("audit", db=db).stdout
    assert "Task pressure: 0 queued · 0 running · 0 issues" in cli("tasks", "list", db=db).stdout


def test_submit_command_flow(home: Path) -> None:
    made = js("submit", "--goal", "ping once", "--label", "ping", "--timeout", "90s", "--retries", "2",
              "--approval", "--", "ping", "-c", "1", "127.0.0.1")
    assert set(made) == {"flow_id", "tasks"} and list(made["tasks"]) == ["ping"]
    task = js("tasks", "show", made["tasks"]["ping"])
    assert task["status"] == "awaiting_approval" and task["command"] == ["ping", "-c", "1", "127.0.0.1"]
    flow = js("flows", "show", made["flow_id"])
    assert flow["goal"] == "ping once" and flow["label"] == "ping" and flow["status"] == "waiting"

    # Approve, then deny refused (nothing awaits approval any more).
    assert js("tasks", "approve", made["tasks"]["ping"][:8])["status"] == "queued"
    shell = js("submit", "--goal", "shelly", "--shell", "--", "echo", "a", "&&", "echo", "b")
    assert js("tasks", "show", shell["tasks"]["main"])["command"] == "echo a && echo b"
    # After `--` everything belongs to the command, even what looks like our options.
    flow_id = cli("submit", "--goal", "opts", "--", "echo", "--json", "-n").stdout.strip()
    assert js("flows", "show", flow_id)["tasks"][0]["command"] == ["echo", "--json", "-n"]


def test_submit_spec_json(home: Path, tmp_path: Path) -> None:
    spec = tmp_path / "flow.toml"
    spec.write_text(SPEC)
    made = js("submit", str(spec))
    assert set(made) == {"flow_id", "tasks"} and sorted(made["tasks"]) == ["enrich", "fetch", "publish"]
    shown = js("flows", "show", made["flow_id"])
    assert {t["label"]: t["task_id"] for t in shown["tasks"]} == made["tasks"]
    assert shown["label"] == "leads" and shown["notify"] == "done_only" and shown["status"] == "queued"


def test_task_cancel_and_deny(home: Path) -> None:
    made = js("submit", "--goal", "g", "--approval", "--", "true")
    denied = js("tasks", "deny", made["tasks"]["main"])
    assert denied["status"] == "cancelled" and "denied" in denied["error"]
    other = js("submit", "--goal", "g2", "--", "true")
    out = cli("tasks", "cancel", other["tasks"]["main"][:8]).stdout
    assert "cancelled" in out
    assert js("flows", "show", other["flow_id"])["status"] == "cancelled"
    text = cli("tasks", "list", "--status", "cancelled").stdout
    assert text.count("cancelled") >= 2
    assert js("tasks", "list", "--status", "queued")["count"] == 0
    assert js("flows", "list", "--status", "cancelled")["count"] == 2
    assert js("tasks", "list", "--runtime", "cli")["count"] == 2
    assert js("tasks", "list", "--runtime", "nope")["count"] == 0


@pytest.mark.parametrize("command", [["flows", "list"], ["tasks", "list"], ["audit"], ["maintenance"]])
def test_empty_ledger(home: Path, command: list[str]) -> None:
    proc = cli(*command)
    assert proc.stdout.strip()
    data = js(*command)
    assert data.get("count", 0) == 0
