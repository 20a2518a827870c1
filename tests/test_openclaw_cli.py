"""The CLI's read commands on an OpenClaw ledger (`--db openclaw:///path`), run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openclaw_fixtures import standard_ledger


def cli(home: Path, *args: str, path_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), "COLUMNS": "120"}
    if path_env is not None:
        env["PATH"] = path_env
    return subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_read_commands_and_refused_action_on_an_openclaw_ledger(home: Path, tmp_path: Path) -> None:
    std = standard_ledger(tmp_path / "openclaw.sqlite")
    url = std.url
    db_file = tmp_path / "openclaw.sqlite"
    before = (db_file.read_bytes(), db_file.stat().st_mtime_ns)

    listed = cli(home, "--db", url, "tasks", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    tasks = json.loads(listed.stdout)
    assert tasks["count"] == len(tasks["tasks"]) > 0

    text = cli(home, "--db", url, "tasks", "list")
    assert text.returncode == 0 and text.stdout.startswith("Task pressure:")
    flows = cli(home, "--db", url, "flows", "list")
    assert flows.returncode == 0 and flows.stdout.startswith("Flow pressure:")
    audit = cli(home, "--db", url, "audit", "--json")
    # Exit 1: the standard ledger has error findings (stale_running, lost); the JSON is still printed.
    assert audit.returncode == 1 and json.loads(audit.stdout)["count"] > 0

    some = tasks["tasks"][0]["task_id"]
    shown = cli(home, "--db", url, "tasks", "show", some, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["task_id"] == some
    # OpenClaw's own columns ride along under "openclaw"; our shape's keys stay as they are.
    assert {"delivery_status", "notify_policy", "owner_key"} <= set(json.loads(shown.stdout)["openclaw"])
    human = cli(home, "--db", url, "tasks", "show", some)
    assert "Delivery status" in human.stdout and "Notify policy" in human.stdout

    # No `openclaw` executable on PATH: refused, naming the command to run, nothing written.
    refused = cli(home, "--db", url, "tasks", "cancel", some, path_env="/nonexistent")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error:") and "openclaw tasks cancel" in refused.stderr
    assert (db_file.read_bytes(), db_file.stat().st_mtime_ns) == before


def test_pressure_lines_count_as_openclaw_counts(home: Path, tmp_path: Path) -> None:
    """`flows list` counts only live cancels (as OpenClaw does) and OpenClaw's waiting and issue
    segments; a `--status` filter narrows the pressure as `openclaw tasks [flow] list` narrows it."""
    url = standard_ledger(tmp_path / "openclaw.sqlite").url
    flows = cli(home, "--db", url, "flows", "list")
    assert flows.stdout.splitlines()[0] == (
        "Flow pressure: 2 active · 1 waiting · 1 blocked · 1 issue · 1 cancel-requested · 7 total")
    cancelled = cli(home, "--db", url, "flows", "list", "--status", "cancelled")
    assert cancelled.stdout.splitlines()[0] == "Flow pressure: 0 active · 0 blocked · 0 cancel-requested · 1 total"
    succeeded = cli(home, "--db", url, "tasks", "list", "--status", "succeeded")
    assert succeeded.stdout.splitlines()[0] == "Task pressure: 0 queued · 0 running · 1 issue"
    listed = json.loads(cli(home, "--db", url, "tasks", "list", "--status", "succeeded", "--all-attempts",
                            "--json").stdout)
    assert listed["count"] == 6 and "blocked" in {t["status"] for t in listed["tasks"]}
