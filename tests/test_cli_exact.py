"""What the CLI says must be exact: audit's exit status and its counts in words,
what maintenance leaves and why, an exit code said once, no stray word run as a command.

Every test runs the real `openclaw-board` in a subprocess on a real SQLite ledger.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import run_cli
from openclaw_fixtures import MIN, NOW, OpenClawFile

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.outcome_text import outcome_text


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = run_cli(*args, columns=200, timeout=120)
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def one_lost_task(url: str) -> tuple[str, str]:
    """A flow whose only task was lost (an error finding that maintenance cannot repair)."""
    made = json.loads(cli("--db", url, "submit", "--json", "--goal", "g", "--label", "t", "--", "true").stdout)
    task_id = made["tasks"]["t"]
    with Ledger(url) as led:
        sid = led.register_supervisor("h", os.getpid(), None, lease_ms=3_600_000).supervisor_id
        assert led.claim_next(sid, "h").task.task_id == task_id
        led.mark_lost(task_id, "pid 100 vanished")
    return made["flow_id"], task_id


# -- audit: an exit status scripts can use, and counts in words --------------------------


def test_audit_exits_1_on_an_error_finding_and_prints_it_all_the_same(sqlite_url: str) -> None:
    empty = cli("--db", sqlite_url, "audit")
    assert empty.stdout.strip() == "Audit: no findings"
    _, task_id = one_lost_task(sqlite_url)
    text = cli("--db", sqlite_url, "audit", code=1)
    assert text.stderr == ""
    assert text.stdout.splitlines()[0] == "Audit: 1 finding (1 error, 0 warnings)"
    assert "lost" in text.stdout and task_id[:8] in text.stdout
    data = json.loads(cli("--db", sqlite_url, "audit", "--json", code=1).stdout)
    assert data["count"] == 1 and data["findings"][0]["severity"] == "error"


def test_audit_exits_0_with_warnings_only(home: Path, tmp_path: Path) -> None:
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    fx.add_task(status="succeeded", delivery_status="failed", created_at=NOW - 9 * MIN, started_at=NOW - 9 * MIN,
                ended_at=NOW - 8 * MIN, cleanup_after=NOW + 9 * MIN)
    fx.close()
    text = cli("--db", f"openclaw://{tmp_path / 'oc.sqlite'}", "audit")
    assert text.stdout.splitlines()[0] == "Audit: 1 finding (0 errors, 1 warning)"


def test_audit_help_documents_the_exit_status() -> None:
    text = " ".join(cli("audit", "--help").stdout.split())
    assert "Exit status: 1 when a finding has severity error" in text and "0 otherwise" in text


def test_pressure_lines_say_1_issue(sqlite_url: str) -> None:
    one_lost_task(sqlite_url)
    assert cli("--db", sqlite_url, "tasks", "list").stdout.splitlines()[0] == (
        "Task pressure: 0 queued · 0 running · 1 issue")


# -- maintenance: what it will not repair, and why ---------------------------------------


def test_maintenance_names_each_finding_it_leaves_with_the_reason(sqlite_url: str) -> None:
    flow_id, task_id = one_lost_task(sqlite_url)
    dry = cli("--db", sqlite_url, "maintenance").stdout.splitlines()
    assert dry[0] == "Would repair 0 findings and prune 0 flows past 7d: run with --apply to do it."
    assert dry[1:] == [
        "Will leave 1 finding as it is:",
        f"  error lost flow {flow_id[:8]} task {task_id[:8]}: how the run ended is unknown: "
        f"`openclaw-board tasks retry {task_id[:8]}` runs it again",
    ]
    report = json.loads(cli("--db", sqlite_url, "maintenance", "--json").stdout)
    assert [(f["code"], f["task_id"]) for f in report["left"]] == [("lost", task_id)]
    assert "tasks retry" in report["left"][0]["reason"]
    applied = cli("--db", sqlite_url, "maintenance", "--apply").stdout.splitlines()
    assert applied[0].startswith("Repaired 0 findings, pruned 0 flows past 7d, removed 0 run directories")
    assert applied[1] == "Left 1 finding as it is:" and task_id[:8] in applied[2]


def test_maintenance_on_an_openclaw_ledger_leaves_everything_to_its_gateway(home: Path, tmp_path: Path) -> None:
    fx = OpenClawFile(tmp_path / "oc.sqlite")
    lost = fx.add_task(status="lost", delivery_status="not_applicable", created_at=NOW - 2 * MIN,
                       ended_at=NOW - MIN)
    fx.close()
    lines = cli("--db", f"openclaw://{tmp_path / 'oc.sqlite'}", "maintenance").stdout.splitlines()
    assert lines[1] == "Will leave 1 finding as it is:"
    assert lines[2].startswith(f"  error lost flow {lost[:8]} task {lost[:8]}: OpenClaw's ledger is its gateway's")
    assert lines[2].endswith("run `openclaw tasks maintenance --apply`")


# -- an exit code is said once ----------------------------------------------------------------


@pytest.mark.parametrize(("exit_code", "error", "said"), [
    (3, "exit 3", "exit 3"),  # the supervisor's own words for a plain non-zero exit
    (3, "disk full", "exit 3: disk full"),
    (3, None, "exit 3"),
    (None, "killed by SIGKILL", "killed by SIGKILL"),
    (None, None, ""),
    (75, "exit 75: needs a login", "exit 75: needs a login"),
])
def test_outcome_text(exit_code: int | None, error: str | None, said: str) -> None:
    assert outcome_text(exit_code, error) == said


def test_a_failed_exit_is_said_once_in_events_journal_and_lists(home: Path, sqlite_url: str) -> None:
    made = json.loads(cli("--db", sqlite_url, "submit", "--json", "--goal", "g", "--label", "three", "--",
                          "sh", "-c", "exit 3").stdout)
    task_id = made["tasks"]["three"]
    cli("--db", sqlite_url, "supervise", "--until-idle", "--quiet")
    shown = json.loads(cli("--db", sqlite_url, "tasks", "show", task_id, "--json").stdout)
    assert (shown["status"], shown["exit_code"], shown["error"]) == ("failed", 3, "exit 3")
    assert shown["events"][-1]["detail"] == "exit 3"  # was "exit 3: exit 3"
    journal = (home / "supervisor.log").read_text()
    assert f"task {task_id[:8]}: failed (exit 3)" in journal and "exit 3 (exit 3)" not in journal
    listed = cli("--db", sqlite_url, "tasks", "list").stdout
    assert "exit 3" in listed and "exit 3: exit 3" not in listed


# -- submit: nothing before `--` but options ---------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--goal", "g", "--timeout", "5", "parsecs", "--", "echo", "hi"],
    ["--timeout", "5", "parsecs", "--", "echo", "hi"],
    ["--goal", "g", "echo", "hi"],
    ["SPEC", "--", "echo", "hi"],
])
def test_submit_refuses_a_stray_word_before_the_command(sqlite_url: str, tmp_path: Path, args: list[str]) -> None:
    spec = tmp_path / "one.toml"
    spec.write_text('goal = "g"\n[[tasks]]\nlabel = "t"\ncommand = ["true"]\n')
    proc = cli("--db", sqlite_url, "submit", *[str(spec) if a == "SPEC" else a for a in args], code=2)
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert json.loads(cli("--db", sqlite_url, "flows", "list", "--json").stdout)["count"] == 0  # nothing written


def test_submit_still_takes_a_spec_file_and_a_command_after_dashdash(sqlite_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "one.toml"
    spec.write_text('goal = "g"\n[[tasks]]\nlabel = "t"\ncommand = ["true"]\n')
    cli("--db", sqlite_url, "submit", str(spec))
    made = json.loads(cli("--db", sqlite_url, "submit", "--json", "--goal", "g", "--label", "x", "--timeout", "5",
                          "--", "sh", "-c", "echo -- parsecs").stdout)
    shown = json.loads(cli("--db", sqlite_url, "tasks", "show", made["tasks"]["x"], "--json").stdout)
    assert shown["command"] == ["sh", "-c", "echo -- parsecs"]
    assert json.loads(cli("--db", sqlite_url, "flows", "list", "--json").stdout)["count"] == 2
