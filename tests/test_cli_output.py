"""Human output: literal text (no markup), narrow terminals, audit findings, maintenance, logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import run_cli

from openclaw_board.ledger import Ledger, load_spec
from openclaw_board.ledger.clock import fixed_clock, system_clock

MARKUP = "[bold red]x[/]"


def cli(*args: str, columns: int = 80, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = run_cli(*args, columns=columns)
    if ok:
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc


@pytest.fixture
def marked(home: Path, tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    """A flow whose goal, labels and error look like Rich markup and emoji codes."""
    spec = tmp_path / "markup.toml"
    spec.write_text(
        f'goal = "ship {MARKUP} :smile:"\nlabel = "[link=http://x]l[/link]"\n'
        f'[[tasks]]\nlabel = "{MARKUP}"\ncommand = ["echo", "[green]arg[/]"]\n'
        f'[[tasks]]\nlabel = "[blink]b"\ncommand = ["true"]\nafter = ["{MARKUP}"]\nrequires_approval = true\n'
    )
    flow_id = cli("submit", str(spec)).stdout.strip()
    with Ledger(sqlite_url) as led:
        sid = led.register_supervisor("h", os.getpid(), None, lease_ms=3_600_000).supervisor_id
        task = led.claim_next(sid, "h").task
        led.finish(task.task_id, "failed", supervisor_id=sid, exit_code=3, error="boom [red]not red[/red]")
    return {"flow": flow_id, "task": task.task_id}


def test_markup_is_printed_literally(marked: dict[str, str]) -> None:
    views = {
        "flows list": cli("flows", "list", columns=200).stdout,
        "flows show": cli("flows", "show", marked["flow"], columns=200).stdout,
        "tasks list": cli("tasks", "list", columns=200).stdout,
        "tasks show": cli("tasks", "show", marked["task"], columns=200).stdout,
    }
    for name, text in views.items():
        assert MARKUP in text or "[blink]b" in text, name
    assert f"ship {MARKUP} :smile:" in views["flows show"]
    assert "[link=http://x]l[/link]" in views["flows show"]
    assert "boom [red]not red[/red]" in views["tasks show"]
    assert "echo '[green]arg[/]'" in views["tasks show"]
    assert "[blink]b" in views["tasks list"] and "dependency '[bold red]x[/]' ended failed" in views["tasks list"]
    # Errors that quote user text keep it literal too.
    proc = cli("tasks", "show", "[red]zz", ok=False)
    assert proc.returncode == 1 and proc.stderr == "error: no task '[red]zz'\n"


@pytest.mark.parametrize("columns", [80, 60])
def test_narrow_terminal(marked: dict[str, str], columns: int) -> None:
    for args in (["flows", "list"], ["tasks", "list"], ["tasks", "list", "--all-attempts"],
                 ["flows", "show", marked["flow"]], ["tasks", "show", marked["task"]], ["audit"]):
        text = cli(*args, columns=columns).stdout
        lines = text.splitlines()
        assert lines and all(len(line) <= columns for line in lines), (args, max(map(len, lines)))
    listing = cli("tasks", "list", columns=columns).stdout
    assert listing.splitlines()[0] == "Task pressure: 0 queued · 0 running · 1 issue"
    assert marked["task"][:8] in listing and marked["task"][:9] not in listing
    assert "failed" in listing and "cancelled" in listing


def test_cancel_running_task_and_audit_findings(home: Path, sqlite_url: str) -> None:
    made = json.loads(cli("submit", "--json", "--goal", "long", "--label", "sleepy", "--", "sleep", "100").stdout)
    with Ledger(sqlite_url) as led:
        # A supervisor that is not heartbeating (lease long expired), so the audit sees a stale run.
        sid = led.register_supervisor("elsewhere", 999_999, None, lease_ms=1).supervisor_id
        assert led.claim_next(sid, "elsewhere").task.task_id == made["tasks"]["sleepy"]
    out = cli("tasks", "cancel", made["tasks"]["sleepy"][:8]).stdout
    assert "cancel requested" in out
    shown = json.loads(cli("tasks", "show", made["tasks"]["sleepy"], "--json").stdout)
    assert shown["status"] == "running" and shown["cancel_requested_at"] is not None
    assert [e["kind"] for e in shown["events"]][-1] == "cancel_requested"

    proc = cli("audit", "--json", ok=False)
    assert proc.returncode == 1 and proc.stderr == ""  # an error finding: exit 1, the JSON printed all the same
    audit = json.loads(proc.stdout)
    assert set(audit) == {"count", "findings"} and audit["count"] == len(audit["findings"]) >= 1
    for finding in audit["findings"]:
        assert set(finding) == {"code", "severity", "flow_id", "task_id", "message"}
    stale = next(f for f in audit["findings"] if f["code"] == "stale_running")
    assert stale["task_id"] == made["tasks"]["sleepy"] and stale["severity"] == "error"
    text = cli("audit", ok=False).stdout
    assert "stale_running" in text and made["tasks"]["sleepy"][:8] in text
    assert text.startswith("Audit: 1 finding (1 error, 0 warnings)")
    pressure = cli("flows", "list").stdout.splitlines()[0]
    assert pressure == "Flow pressure: 1 active · 0 blocked · 0 cancel-requested · 1 total"
    cli("flows", "cancel", made["flow_id"])
    assert "1 cancel-requested" in cli("flows", "list").stdout


def test_maintenance_prunes_old_flows_and_their_run_dirs(home: Path, sqlite_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "one.toml"
    spec.write_text('goal = "old"\n[[tasks]]\nlabel = "t"\ncommand = ["true"]\n')
    inside = home / "runs" / "old-task"
    outside = tmp_path / "not-ours"
    nine_days = 9 * 24 * 3600 * 1000
    then = system_clock() - nine_days
    run_dirs = []
    for run_dir in (inside, outside):
        run_dir.mkdir(parents=True)
        (run_dir / "output.log").write_text("hello\n")
        with Ledger(sqlite_url, clock=fixed_clock(then)) as led:
            led.submit(load_spec(spec))
            sid = led.register_supervisor("h", os.getpid(), None).supervisor_id
            task = led.claim_next(sid, "h").task
            led.record_process(task.task_id, sid, os.getpid(), None, str(run_dir))
            led.finish(task.task_id, "succeeded", supervisor_id=sid, exit_code=0)
            run_dirs.append(task.task_id)
    fresh = json.loads(cli("submit", "--json", "--goal", "new", "--", "true").stdout)["flow_id"]

    dry = json.loads(cli("maintenance", "--json").stdout)
    assert dry["applied"] is False and dry["pruned_flows"] == 2 and dry["run_dirs_removed"] == 0
    assert "Would repair 0 findings and prune 2 flows past 7d" in cli("maintenance").stdout
    assert json.loads(cli("flows", "list", "--json").stdout)["count"] == 3
    assert json.loads(cli("maintenance", "--json", "--retention", "10d").stdout)["pruned_flows"] == 0

    done = json.loads(cli("maintenance", "--apply", "--json").stdout)
    assert done["applied"] is True and done["pruned_flows"] == 2 and done["run_dirs_removed"] == 1
    assert not inside.exists() and (outside / "output.log").exists()
    flows = json.loads(cli("flows", "list", "--json").stdout)["flows"]
    assert [f["flow_id"] for f in flows] == [fresh]
    assert "pruned 0 flows" in cli("maintenance", "--apply").stdout


def test_task_logs(home: Path, sqlite_url: str) -> None:
    made = json.loads(cli("submit", "--json", "--goal", "talk", "--", "echo", "hi").stdout)
    task_id = made["tasks"]["main"]
    proc = cli("tasks", "logs", task_id, ok=False)
    assert proc.returncode == 1 and proc.stderr == f"error: task {task_id[:8]} has no log yet (queued)\n"
    from openclaw_board.supervisor import logs

    run_dir = home / "runs" / task_id
    run_dir.mkdir(parents=True)
    logs.log_path(run_dir).write_bytes(b"line one [bold]x[/]\nline two\n")
    with Ledger(sqlite_url) as led:
        sid = led.register_supervisor("h", os.getpid(), None).supervisor_id
        led.claim_next(sid, "h")
        led.record_process(task_id, sid, os.getpid(), None, str(run_dir))
        led.finish(task_id, "succeeded", supervisor_id=sid, exit_code=0)
    assert cli("tasks", "logs", task_id[:8]).stdout == "line one [bold]x[/]\nline two\n"
    # The task has ended, so --follow prints what there is and returns.
    assert cli("tasks", "logs", "--follow", task_id).stdout == "line one [bold]x[/]\nline two\n"
    logs.log_path(run_dir).unlink()
    proc = cli("tasks", "logs", task_id, ok=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: task ") and "no log at" in proc.stderr


def test_logs_of_a_real_run(home: Path) -> None:
    """A real supervisor runs the task; `tasks logs --follow`, started while it is queued, sees it all."""
    script = "import sys; print('[bold]out[/]'); print('err line', file=sys.stderr)"
    made = json.loads(cli("submit", "--json", "--goal", "talk", "--", sys.executable, "-c", script).stdout)
    task_id = made["tasks"]["main"]
    follower = subprocess.Popen([sys.executable, "-m", "openclaw_board", "tasks", "logs", "--follow", task_id[:8]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        cli("supervise", "--until-idle", "--quiet", "--concurrency", "1")
        followed, errors = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0 and errors == ""
    assert json.loads(cli("tasks", "show", "--json", task_id).stdout)["status"] == "succeeded"
    logged = cli("tasks", "logs", task_id).stdout
    assert "[bold]out[/]\n" in logged and "err line\n" in logged
    assert followed == logged
