"""No process of ours may open() a SQLite ledger file it may hold a connection to.

POSIX advisory locks belong to the process: closing any descriptor of the ledger file
drops the locks of every SQLite connection the process has. Another process then thinks it
is the last user, checkpoints and deletes the WAL, and our connections go on writing into
a deleted file: accepted submits vanish. (sqlite.org, "How To Corrupt An SQLite Database
File", section 2.2.) The board with its embedded supervisor is such a process: two
connections, and a check that used to read the file's header on every connect.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from openclaw_board.ledger import Ledger

# A process shaped like the board with its embedded supervisor: one connection, then a
# second one to the same file, then it keeps reading while other processes write.
_HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from openclaw_board.ledger import Ledger
    url, go = sys.argv[1], sys.argv[2]
    board = Ledger(url)
    board.list_flows()
    supervisor = Ledger(url)
    supervisor.list_flows()
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.02)
    print("goals", sorted(f.goal for f in board.list_flows()), flush=True)
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    print("deleted", [f for f in fds if f.endswith("(deleted)")], flush=True)
    """
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True,
                          text=True, timeout=60, check=True)


def test_cli_writes_beside_a_process_with_two_connections_are_kept(sqlite_url: str, tmp_path: Path) -> None:
    Ledger(sqlite_url).close()
    go = tmp_path / "go"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, sqlite_url, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        _cli("--db", sqlite_url, "submit", "--goal", "A", "--", "true")
        time.sleep(0.5)  # not a timing assertion: room for a (buggy) checkpoint to delete the WAL
        _cli("--db", sqlite_url, "submit", "--goal", "B", "--", "true")
        go.touch()
        out, err = holder.communicate(timeout=60)
    finally:
        holder.kill()
    assert holder.returncode == 0, err
    assert "goals ['A', 'B']" in out, out
    assert "deleted []" in out, out
    with Ledger(sqlite_url) as led:
        assert sorted(f.goal for f in led.list_flows()) == ["A", "B"]


# Every open() of a path under the ledger's name is reported on stderr by an audit hook,
# while the real commands run: submit, the supervisor, the listing, the board (headless).
_TRIPWIRE = textwrap.dedent(
    """
    import os, sys
    ledger = sys.argv[1]

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            if os.path.abspath(path).startswith(ledger):
                os.write(2, f"LEDGER-OPEN {path}\\n".encode())

    sys.addaudithook(hook)
    from openclaw_board.cli import main
    sys.argv = ["openclaw-board", *sys.argv[2:]]
    main()
    """
)


def test_no_command_opens_the_ledger_file(sqlite_url: str, home: Path, tmp_path: Path) -> None:
    Ledger(sqlite_url).close()
    path = str(home / "ledger.db")
    commands = [
        ["submit", "--goal", "tripwire", "--", "true"],
        ["supervise", "--until-idle"],
        ["tasks", "list"],
        ["flows", "list", "--json"],
        ["audit"],
        ["screenshot", "-o", str(tmp_path / "board.svg")],
    ]
    for args in commands:
        proc = subprocess.run([sys.executable, "-c", _TRIPWIRE, path, "--db", sqlite_url, *args],
                              capture_output=True, text=True, timeout=120, env={**os.environ})
        assert "LEDGER-OPEN" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode in (0, 1), (args, proc.stderr)
