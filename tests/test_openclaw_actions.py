"""Cancel, retry and flow cancel go through the `openclaw` CLI; every other write is refused.

The fake `openclaw` is a real executable the test writes onto PATH: it records its argv
and, like the gateway, writes the outcome into the ledger through its own connection.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from openclaw_fixtures import NOW, Standard

from openclaw_board.ledger import IllegalTransition, LedgerError
from openclaw_board.ledger.openclaw import ExternalCommandFailed, OpenClawLedger, ReadOnlyLedger

FAKE = r'''#!{python}
"""A stand-in for OpenClaw's CLI: records argv, and does what the gateway would."""
import json, os, sqlite3, sys, uuid
args = sys.argv[1:]
with open(os.environ["FAKE_OPENCLAW_LOG"], "a") as fh:
    fh.write(json.dumps(args) + "\n")
code = int(os.environ.get("FAKE_OPENCLAW_EXIT", "0"))
if code:
    print("Task not found: " + args[-1], file=sys.stderr)
    sys.exit(code)
db = sqlite3.connect(os.environ["FAKE_OPENCLAW_DB"], isolation_level=None)
now = {now}
if args[:2] == ["tasks", "cancel"]:
    db.execute("UPDATE task_runs SET status='cancelled', ended_at=?, error='cancelled by operator' "
               "WHERE task_id=?", (now, args[2]))
    print("Cancelled task " + args[2] + ".")
elif args[:2] == ["tasks", "retry"]:
    row = db.execute("SELECT runtime, owner_key, scope_kind, task, label, parent_flow_id "
                     "FROM task_runs WHERE task_id=?", (args[2],)).fetchone()
    new = str(uuid.uuid4())
    db.execute("INSERT INTO task_runs (task_id, runtime, owner_key, scope_kind, task, label, parent_flow_id, "
               "parent_task_id, status, delivery_status, notify_policy, created_at) "
               "VALUES (?,?,?,?,?,?,?,?, 'queued', 'pending', 'done_only', ?)", (new, *row, args[2], now))
    print("Retrying as " + new + ".")
elif args[:3] == ["tasks", "flow", "cancel"]:
    db.execute("UPDATE flow_runs SET cancel_requested_at=? WHERE flow_id=?", (now, args[3]))
    print("Cancel requested for flow " + args[3] + ".")
'''


@pytest.fixture
def fake_openclaw(tmp_path: Path, std: Standard, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `openclaw` executable alone on PATH; returns the file where it logs its argv."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "openclaw"
    exe.write_text(FAKE.replace("{python}", sys.executable).replace("{now}", str(NOW)))
    exe.chmod(0o755)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("FAKE_OPENCLAW_LOG", str(log))
    monkeypatch.setenv("FAKE_OPENCLAW_DB", str(std.path))
    return log


def argv_log(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_cancel_runs_openclaw_tasks_cancel(std: Standard, fake_openclaw: Path) -> None:
    with OpenClawLedger(std.url) as led:
        row = led.cancel_task(std.t["run"][:8])
        assert argv_log(fake_openclaw) == [["tasks", "cancel", std.t["run"]]]
        assert row.status == "cancelled" and row.task_id == std.t["run"]
        assert row.external_answer == f"Cancelled task {std.t['run']}."


def test_retry_runs_openclaw_tasks_retry_and_returns_the_new_attempt(std: Standard, fake_openclaw: Path) -> None:
    with OpenClawLedger(std.url) as led:
        row = led.retry(std.t["failed"])
        assert argv_log(fake_openclaw) == [["tasks", "retry", std.t["failed"]]]
        assert (row.parent_task_id, row.attempt, row.status, row.flow_id) == (
            std.t["failed"], 2, "queued", std.f["mirrored"])
        assert row.external_answer == f"Retrying as {row.task_id}."


def test_flow_cancel_runs_openclaw_tasks_flow_cancel(std: Standard, fake_openclaw: Path) -> None:
    with OpenClawLedger(std.url) as led:
        flow = led.cancel_flow(std.f["running"][:8])
        assert argv_log(fake_openclaw) == [["tasks", "flow", "cancel", std.f["running"]]]
        assert flow.cancel_requested_at == NOW and "Cancel requested" in flow.external_answer


def test_cancelling_a_standalone_flow_cancels_its_task(std: Standard, fake_openclaw: Path) -> None:
    with OpenClawLedger(std.url) as led:
        flow = led.cancel_flow(std.t["stale_running"])
        assert argv_log(fake_openclaw) == [["tasks", "cancel", std.t["stale_running"]]]
        assert flow.status == "cancelled"


def test_what_openclaw_refused_is_reported(std: Standard, fake_openclaw: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENCLAW_EXIT", "1")
    with OpenClawLedger(std.url) as led:
        with pytest.raises(ExternalCommandFailed, match=r"`openclaw tasks cancel .*` refused .*exit 1.*Task not found"):
            led.cancel_task(std.t["ok"])


def test_without_openclaw_on_path_the_command_to_run_is_given(
        std: Standard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    before = std.path.read_bytes()
    with OpenClawLedger(std.url) as led:
        for call, expected in [
            (lambda: led.cancel_task(std.t["run"][:8]), f"openclaw tasks cancel {std.t['run']}"),
            (lambda: led.retry(std.t["failed"]), f"openclaw tasks retry {std.t['failed']}"),
            (lambda: led.cancel_flow(std.f["running"]), f"openclaw tasks flow cancel {std.f['running']}"),
        ]:
            with pytest.raises(ReadOnlyLedger) as info:
                call()
            assert f"run `{expected}`" in str(info.value)
            assert isinstance(info.value, IllegalTransition)
        assert led.get_task(std.t["run"]).status == "running"
    assert std.path.read_bytes() == before


def test_every_other_write_is_refused(std: Standard) -> None:
    calls = [
        lambda led: led.approve("x"), lambda led: led.deny("x"), lambda led: led.reopen("x"),
        lambda led: led.submit(None), lambda led: led.claim_next("sid", "host").task,
        lambda led: led.finish("t", "succeeded"), lambda led: led.report_progress("t", None, summary="s"),
        lambda led: led.mark_lost("t", "gone"), lambda led: led.register_supervisor("h", 1, None),
        lambda led: led.heartbeat("sid"), lambda led: led.maintenance(apply=True),
    ]
    with OpenClawLedger(std.url) as led:
        for call in calls:
            with pytest.raises(LedgerError, match="^read-only OpenClaw ledger: cannot "):
                call(led)
    with sqlite3.connect(std.path) as conn:
        assert conn.execute("SELECT count(*) FROM task_runs").fetchone()[0] == 19
