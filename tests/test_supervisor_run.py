"""The supervisor runs real commands and records what really happened."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from supervisor_support import one, run_idle, wait_for

from openclaw_board.ledger import Ledger, command_spec
from openclaw_board.paths import run_dir_of
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.logs import read_log, read_tail


def test_outcomes_map_to_statuses(ledger: Ledger, tmp_path: Path) -> None:
    ok = one(ledger, {"command": ["sh", "-c", "echo hello; echo oops >&2"]})
    bad = one(ledger, {"command": ["sh", "-c", "exit 3"]})
    b75 = one(ledger, {"command": ["sh", "-c", "exit 75"]})
    bline = one(ledger, {"command": ["sh", "-c", "echo '::blocked waiting for credentials'; exit 0"]})
    env = one(ledger, {"command": "echo \"$REGION $(pwd)\" > out.txt", "shell": True,
                       "cwd": str(tmp_path), "env": {"REGION": "eu"}})
    run_idle(ledger.url, concurrency=3)

    t = ledger.get_task(ok)
    assert (t.status, t.exit_code, t.error) == ("succeeded", 0, None)
    assert read_log(run_dir_of(t)) == b"hello\noops\n"
    assert t.pid and t.pid_start and t.supervisor_id and t.host
    assert (ledger.get_task(bad).status, ledger.get_task(bad).exit_code) == ("failed", 3)
    assert ledger.get_task(bad).error == "exit 3"
    assert (ledger.get_task(b75).status, ledger.get_task(b75).exit_code) == ("blocked", 75)
    blocked = ledger.get_task(bline)
    assert (blocked.status, blocked.exit_code, blocked.error) == ("blocked", 0, "waiting for credentials")
    assert ledger.get_task(env).status == "succeeded"
    assert (tmp_path / "out.txt").read_text() == f"eu {tmp_path}\n"


def test_run_files_are_private(ledger: Ledger, home: Path) -> None:
    task_id = one(ledger, {"command": ["echo", "secret"]})
    run_idle(ledger.url, concurrency=1)
    run_dir = run_dir_of(ledger.get_task(task_id))
    assert run_dir.parent == home / "runs"
    assert os.stat(run_dir).st_mode & 0o777 == 0o700
    for path in run_dir.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    assert (home / "supervisor.log").stat().st_mode & 0o077 == 0
    assert "succeeded" in (home / "supervisor.log").read_text()


def test_missing_command_and_missing_cwd_fail_clearly(ledger: Ledger) -> None:
    nocmd = one(ledger, {"command": ["no-such-command-xyz", "--flag"]})
    nocwd = one(ledger, {"command": ["true"], "cwd": "/no/such/dir"})
    shell_missing = one(ledger, {"command": "no-such-command-xyz", "shell": True})
    run_idle(ledger.url, concurrency=2)
    t = ledger.get_task(nocmd)
    assert (t.status, t.exit_code, t.error) == ("failed", None, "command not found: no-such-command-xyz")
    t = ledger.get_task(nocwd)
    assert (t.status, t.error) == ("failed", "cwd does not exist: /no/such/dir")
    t = ledger.get_task(shell_missing)  # the shell runs and says so: exit 127
    assert (t.status, t.exit_code) == ("failed", 127)
    assert b"not found" in read_log(run_dir_of(t))


def test_progress_reaches_the_ledger_while_the_task_runs(ledger: Ledger, tmp_path: Path) -> None:
    release = tmp_path / "release"
    task_id = one(ledger, {"command": [
        "sh", "-c", "echo '::progress 40 fetching pages'; while [ ! -e \"$0\" ]; do sleep 0.05; done;"
        " echo '::summary 12 pages fetched'; echo '::progress 100'", str(release)]})
    sup = Supervisor(ledger.url, concurrency=1, kill_grace_s=0.5, poll_interval_s=0.05)
    thread = threading.Thread(target=sup.run, kwargs={"until_idle": True})
    thread.start()
    try:
        t = wait_for(lambda: (x := ledger.get_task(task_id)).progress == 40.0 and x, "progress 40")
        assert t.status == "running" and t.progress_summary == "fetching pages"
    finally:
        release.touch()
        thread.join(30)
    t = ledger.get_task(task_id)
    assert (t.status, t.progress, t.progress_summary, t.terminal_summary) == (
        "succeeded", 100.0, "12 pages fetched", "12 pages fetched")
    kinds = [e.kind for e in ledger.task_events(task_id)]
    assert kinds.index("progress") < kinds.index("finished")


def test_huge_output_is_capped_head_and_tail_kept(sqlite_url: str) -> None:
    cap = 64 * 1024
    total = 50_000_000
    with Ledger(sqlite_url) as ledger:
        task_id = one(ledger, {"command": ["sh", "-c", f"echo START; yes 0123456789abcdef | head -c {total}; "
                                           "echo; echo '::progress 99 nearly'; echo END"]})
        run_idle(sqlite_url, concurrency=1, head_cap=cap, tail_cap=cap)
        t = ledger.get_task(task_id)
        assert t.status == "succeeded"
        assert t.progress == 99.0  # a control line after 50 MB is still seen
        run_dir = run_dir_of(t)
        used = sum(p.stat().st_size for p in run_dir.iterdir())
        assert used <= 3 * cap + 8192
        log = read_log(run_dir)
        written = len(b"START\n") + total + len(b"\n::progress 99 nearly\nEND\n")
        assert log.startswith(b"START\n0123456789abcdef")
        assert log.endswith(b"::progress 99 nearly\nEND\n")
        omitted = written - 2 * cap
        assert f"\n[... {omitted} bytes omitted ...]\n".encode() in log
        assert len(log) == 2 * cap + len(f"\n[... {omitted} bytes omitted ...]\n")
        assert read_tail(run_dir, 4) == b"END\n"
        assert t.log_tail.endswith("END\n") and len(t.log_tail) <= 4096


def test_binary_garbage_is_kept_raw_and_sanitised_for_the_ledger(sqlite_url: str, tmp_path: Path) -> None:
    garbage = (bytes(range(256)) * 64 + b"\n::progress 55 \xff\xfe\x1b[31mred\x07 \xe2\x82\xac\n"
               b"::summary [b]bold[/b]\x00\n")
    src = tmp_path / "garbage.bin"
    src.write_bytes(garbage)
    with Ledger(sqlite_url) as ledger:
        task_id = one(ledger, {"command": ["cat", str(src)]})
        run_idle(sqlite_url, concurrency=1)
        t = ledger.get_task(task_id)
        assert t.status == "succeeded" and t.progress == 55.0
        assert t.progress_summary == "[b]bold[/b]"  # stored as text; never interpreted as markup
        assert read_log(run_dir_of(t)) == garbage
        assert "\x00" not in t.log_tail and "\x1b" not in t.log_tail
        assert ledger.task_events(task_id)  # the ledger still reads fine


@pytest.mark.parametrize("split", [1, 2, 3, 7, 4096])
def test_control_lines_split_across_reads(split: int) -> None:
    from openclaw_board.supervisor.wrapper import Control

    data = b"noise ::progress 1 not at line start\n::progress 12.5 half way\nx\n::summary done\r\n" \
           b"::blocked needs a human\n::progress nan\n::bogus 1\n"
    control = Control()
    for i in range(0, len(data), split):
        control.feed(data[i:i + split])
    assert (control.progress, control.summary, control.blocked) == (12.5, "done", "needs a human")


def test_command_spec_runs_through(ledger: Ledger) -> None:
    _, ids = ledger.submit(command_spec("echo", ["echo", "a b", "c"]))
    run_idle(ledger.url, concurrency=1)
    t = ledger.get_task(ids["main"])
    assert t.status == "succeeded" and read_log(run_dir_of(t)) == b"a b c\n"
