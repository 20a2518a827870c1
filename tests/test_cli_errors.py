"""Every bad input gets one `error:` line on stderr, exit 1 (2 for usage), and changes nothing.

"Nothing changed" is checked on the whole ledger: every flow, every attempt and the event
log are compared before and after the refused command.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest
from cli_support import run_cli

from openclaw_board.ledger import FlowSpec, Ledger, load_spec, parse_spec


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


def snapshot(url: str) -> tuple:
    """The whole ledger as the CLI shows it, plus the event log's high-water mark."""
    flows = json.loads(cli("--db", url, "flows", "list", "--json").stdout)
    tasks = json.loads(cli("--db", url, "tasks", "list", "--all-attempts", "--json").stdout)
    with Ledger(url) as led:
        last = led.last_event_id()
    return flows, tasks, last


def load_spec_text(text: str) -> FlowSpec:
    return parse_spec(tomllib.loads(text))


def assert_refused(proc: subprocess.CompletedProcess[str], code: int = 1, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.stdout == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """A failed-then-retried-and-running task, a queued one waiting on it, a succeeded one."""
    spec = tmp_path / "flow.toml"
    spec.write_text('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["true"]\n'
                    '[[tasks]]\nlabel = "b"\ncommand = ["true"]\nafter = ["a"]\n')
    with Ledger(sqlite_url) as led:
        sid = led.register_supervisor("h", os.getpid(), None, lease_ms=3_600_000).supervisor_id
        flow_id, ids = led.submit(load_spec(spec))
        first = led.claim_next(sid, "h").task
        assert first.task_id == ids["a"]
        led.finish(first.task_id, "failed", supervisor_id=sid, exit_code=1)
        retried = led.retry(first.task_id)
        assert led.claim_next(sid, "h").task.task_id == retried.task_id
        led.submit(load_spec_text('goal = "other"\n[[tasks]]\nlabel = "c"\ncommand = ["true"]\n'))
        other = led.claim_next(sid, "h").task
        assert other.label == "c"
        led.finish(other.task_id, "succeeded", supervisor_id=sid, exit_code=0)
        queued = next(t for t in led.list_tasks(flow=flow_id) if t.label == "b")
        assert queued.status == "queued"
    return {"url": sqlite_url, "flow": flow_id, "old": first.task_id, "running": retried.task_id,
            "succeeded": other.task_id, "queued": queued.task_id, "spec": str(spec)}


BAD_SPECS = {
    "cycle": ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = ["b"]\n'
              '[[tasks]]\nlabel = "b"\ncommand = ["x"]\nafter = ["a"]\n', "cycle"),
    "unknown_after": ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = ["zz"]\n', "'zz'"),
    "bad_duration": ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = "soon"\n', "timeout"),
    "empty_command": ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = []\n', "command"),
    "duplicate": ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n[[tasks]]\nlabel = "a"\n'
                  'command = ["x"]\n', "duplicate"),
    "not_toml": ('goal = "g\n', "invalid TOML"),
    "no_goal": ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "goal"),
}


def test_invalid_specs_refused_whole(world: dict[str, str], tmp_path: Path) -> None:
    before = snapshot(world["url"])
    for case, (text, needle) in BAD_SPECS.items():
        bad = tmp_path / f"{case}.toml"
        bad.write_text(text)
        assert_refused(cli("--db", world["url"], "submit", str(bad)), 1, str(bad), needle)
    assert snapshot(world["url"]) == before


@pytest.mark.slow  # ~25 subprocesses of the real console script
def test_refusals_change_nothing(world: dict[str, str], tmp_path: Path) -> None:
    url = world["url"]
    before = snapshot(url)
    cases: list[tuple[list[str], int, tuple[str, ...]]] = [
        (["submit", str(tmp_path / "missing.toml")], 1, ("missing.toml", "no such file")),
        (["submit", str(tmp_path)], 1, ("directory",)),
        (["submit", "--goal", "g", "--timeout", "soon", "--", "true"], 1, ("timeout",)),
        (["flows", "show", "ffffffff"], 1, ("no flow",)),
        (["flows", "show", "not-an-id!"], 1, ("no flow",)),
        (["tasks", "show", "0000000000"], 1, ("no task",)),
        (["tasks", "cancel", world["succeeded"]], 1, ("already succeeded",)),
        (["tasks", "approve", world["queued"][:8]], 1, ("not awaiting_approval",)),
        (["tasks", "deny", world["queued"]], 1, ("not awaiting_approval",)),
        (["tasks", "retry", world["queued"]], 1, ("only a finished task",)),
        (["tasks", "retry", world["old"]], 1, ("not the latest",)),
        (["tasks", "logs", world["queued"]], 1, ("has no log yet",)),
        (["flows", "reopen", world["flow"]], 1, ("only a blocked",)),
        (["tasks", "list", "--flow", "ffffffff"], 1, ("no flow",)),
        (["tasks", "list", "--status", "done"], 2, ("unknown task status 'done'", "succeeded")),
        (["flows", "list", "--status", "awaiting_approval"], 2, ("unknown flow status", "waiting")),
        (["maintenance", "--retention", "soon"], 2, ("--retention",)),
        (["submit"], 2, ("spec file",)),
        (["submit", "a.toml", "b.toml"], 2, ("spec file",)),
        (["submit", "--goal", "g"], 2, ("needs a command",)),
        (["submit", "--label", "x", world["spec"]], 2, ("--goal",)),
    ]
    for args, code, needles in cases:
        assert_refused(cli("--db", url, *args), code, *needles)
    assert snapshot(url) == before


def test_usage_errors_exit_2(home: Path) -> None:
    for args in (["nosuchcommand"], ["tasks", "frobnicate"], ["tasks", "list", "--bogus"], ["tasks", "show"],
                 ["submit", "--retries", "lots", "--goal", "g", "--", "true"]):
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "Error" in proc.stderr


def test_ambiguous_prefix(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as led:
        # 17 flows of one task each: two ids must share a first hex digit.
        for n in range(17):
            led.submit(load_spec_text(f'goal = "g{n}"\n[[tasks]]\nlabel = "t"\ncommand = ["true"]\n'))
        flows = [f.flow_id for f in led.list_flows()]
        tasks = [t.task_id for t in led.list_tasks()]
    before = snapshot(sqlite_url)
    for what, ids in (("flows", flows), ("tasks", tasks)):
        prefix = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
        for verb in ("show", "cancel"):
            assert_refused(cli("--db", sqlite_url, what, verb, prefix), 1, "ambiguous", "give more characters")
    assert snapshot(sqlite_url) == before


def test_unusable_ledgers(tmp_path: Path, home: Path) -> None:
    # A directory where the ledger should be.
    folder = tmp_path / "adir"
    folder.mkdir()
    assert_refused(cli("--db", str(folder), "flows", "list"), 1, "directory")
    assert_refused(cli("--db", f"sqlite:///{folder}", "submit", "--goal", "g", "--", "true"), 1, "directory")

    # A ledger that others can write: refused, and left exactly as it was.
    ledger = tmp_path / "shared.db"
    assert cli("--db", str(ledger), "submit", "--goal", "g", "--", "true").returncode == 0
    os.chmod(ledger, 0o666)
    digest = hashlib.sha256(ledger.read_bytes()).hexdigest()
    for args in (["flows", "list"], ["tasks", "list", "--json"], ["submit", "--goal", "g", "--", "true"], ["audit"]):
        assert_refused(cli("--db", str(ledger), *args), 1, "writable by others", "chmod 600")
    assert hashlib.sha256(ledger.read_bytes()).hexdigest() == digest

    # Not a database at all, and a URL we cannot use.
    junk = tmp_path / "junk.db"
    junk.write_text("hello, I am not SQLite\n" * 10)
    os.chmod(junk, 0o600)
    assert_refused(cli("--db", str(junk), "tasks", "list"), 1, "not a SQLite database")
    assert_refused(cli("--db", "mysql://x/y", "tasks", "list"), 1, "mysql")
    # A PostgreSQL ledger nobody answers for; the password never reaches the terminal.
    proc = cli("--db", "postgresql://me:hunter2@127.0.0.1:1/x", "flows", "list")
    assert_refused(proc, 1, "cannot reach ledger", "me:***@127.0.0.1:1")
    assert "hunter2" not in proc.stderr
    assert_refused(cli("tasks", "list", env={"OPENCLAW_BOARD_DB": str(folder)}), 1, "directory")
