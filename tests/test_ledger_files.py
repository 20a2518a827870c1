"""Ledger files and state directories: whose we trust, damaged ones, read-only ones.

Each bad case is one `error:` line that names the file and says what to do, and nothing is
written. The ownership tests really chown to `nobody` (they need root); the read-only
filesystem tests use a read-only bind mount in a mount namespace of their own (`unshare -m`,
gone when the command ends).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from supervisor_support import wait_for

from openclaw_board.ledger import Ledger, LedgerUnavailable, command_spec, parse_spec
from openclaw_board.ledger.db import state_dir

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="chown to another user and bind mounts need root")


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    argv = [*prefix, sys.executable, "-m", "openclaw_board", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "COLUMNS": "100", **(env or {})})


def one_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def nobody() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def planted_ledger(state: Path, marker: Path) -> None:
    """A ledger holding a task that would leave `marker` behind if anyone ran it."""
    with Ledger(f"sqlite:///{state / 'ledger.db'}") as led:
        led.submit(command_spec("planted", ["touch", str(marker)]))


# -- whose files ------------------------------------------------------------------------


@needs_root
def test_a_ledger_planted_by_another_user_is_not_run(tmp_path: Path) -> None:
    """The attack: `nobody` made a 0777 state dir with a 0644 ledger holding a task; root's
    `supervise` ran it as root. Refused now; the task never runs."""
    state, marker = tmp_path / "state", tmp_path / "ran-as-root"
    planted_ledger(state, marker)
    uid, gid = nobody()
    for path in (state, *state.iterdir()):
        os.chown(path, uid, gid)
    os.chmod(state, 0o777)
    os.chmod(state / "ledger.db", 0o644)
    before = digest(state)
    proc = cli("supervise", "-q", "--until-idle", env={"OPENCLAW_BOARD_HOME": str(state)})
    one_error(proc, f"ledger directory {state} belongs to nobody (uid {uid})", "not to you or root")
    assert not marker.exists() and digest(state) == before and not (state / "runs").exists()
    # The dir made ours again, the ledger still nobody's: refused for the ledger itself.
    os.chown(state, 0, 0)
    os.chmod(state, 0o700)
    one_error(cli("flows", "list", env={"OPENCLAW_BOARD_HOME": str(state)}),
              f"ledger {state / 'ledger.db'} belongs to nobody")
    assert not marker.exists() and digest(state) == before


@needs_root
def test_a_sidecar_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    planted_ledger(state, tmp_path / "marker")
    wal = Path(f"{state / 'ledger.db'}-wal")
    wal.write_bytes(b"")
    os.chown(wal, *nobody())
    one_error(cli("flows", "list", env={"OPENCLAW_BOARD_HOME": str(state)}), f"ledger file {wal} belongs to nobody")


def test_shared_directories_are_refused_and_never_chmodded(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: others may create files in it (a -wal, a -shm...)
    one_error(cli("--db", str(shared / "ledger.db"), "flows", "list"), f"ledger directory {shared} is writable")
    one_error(cli("flows", "list", env={"OPENCLAW_BOARD_HOME": str(shared)}), f"directory {shared} is writable")
    assert (shared.stat().st_mode & 0o7777) == 0o1777 and list(shared.iterdir()) == []


def test_our_own_loose_state_dir_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)
    proc = cli("submit", "--goal", "g", "--", "true", env={"OPENCLAW_BOARD_HOME": str(state)})
    assert proc.returncode == 0, proc.stderr
    assert state.stat().st_mode & 0o777 == 0o700


def test_a_world_readable_ledger_of_ours_is_made_private_once(sqlite_url: str, home: Path) -> None:
    Ledger(sqlite_url).close()
    db = home / "ledger.db"
    os.chmod(db, 0o644)
    first = cli("--db", sqlite_url, "flows", "list", "--json")
    assert first.returncode == 0
    assert first.stderr == f"note: ledger {db} was readable by everyone (mode 644): made it 600\n"
    assert db.stat().st_mode & 0o777 == 0o600
    assert cli("--db", sqlite_url, "flows", "list", "--json").stderr == ""


@needs_root
def test_a_themes_dir_of_another_user_is_skipped(home: Path) -> None:
    from openclaw_board.board.theme import theme_files as th

    user = home / "themes"
    user.mkdir(parents=True)
    (user / "evil.toml").write_text('primary = "#ff0000"\n')
    os.chown(user, *nobody())
    theme_set = th.load_themes()
    assert "evil" not in theme_set.themes and "openclaw-dark" in theme_set.themes
    assert len(theme_set.errors) == 1 and f"themes directory {user} belongs to nobody" in theme_set.errors[0]


# -- where the state directory is -------------------------------------------------------


def test_a_relative_home_is_resolved_once_from_where_we_started(tmp_path: Path, monkeypatch) -> None:
    """`OPENCLAW_BOARD_HOME=cur` made the ledger /cur/ledger.db and runs/ ./cur/runs."""
    monkeypatch.delenv("OPENCLAW_BOARD_DB", raising=False)
    name = f"cur-{os.getpid()}-{tmp_path.name}"  # /cur itself may exist on a shared machine
    env = {"OPENCLAW_BOARD_HOME": name}
    proc = cli("submit", "--goal", "g", "--", "sh", "-c", "pwd", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / name / "ledger.db").is_file() and not Path("/", name).exists()
    proc = cli("supervise", "-q", "--until-idle", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / name / "runs").iterdir())) == 1
    tasks = cli("tasks", "list", "--json", env=env, cwd=tmp_path)
    assert '"status": "succeeded"' in tasks.stdout
    monkeypatch.setenv("OPENCLAW_BOARD_HOME", "rel/x")
    monkeypatch.chdir(tmp_path)
    assert state_dir() == tmp_path / "rel" / "x"


@pytest.mark.parametrize("home", ["/proc/no-such-dir/state", "/dev/null/state"])
def test_a_state_dir_that_cannot_be_made_is_one_line(home: str) -> None:
    one_error(cli("flows", "list", env={"OPENCLAW_BOARD_HOME": home}), f"cannot create state directory {home}",
              "set OPENCLAW_BOARD_HOME")


# -- damaged ledgers --------------------------------------------------------------------


def test_a_truncated_ledger_is_refused_not_recreated(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as led:
        led.submit(command_spec("g", ["true"]))
    db = home / "ledger.db"
    os.truncate(db, 0)
    for args in (("flows", "list"), ("submit", "--goal", "g", "--", "true"), ("supervise", "-q", "--until-idle")):
        one_error(cli("--db", sqlite_url, *args), f"ledger {db} is empty (0 bytes): it was truncated",
                  "restore it from a backup, or remove it")
    assert db.stat().st_size == 0


def test_a_garbage_schema_version_is_one_line(sqlite_url: str, home: Path) -> None:
    Ledger(sqlite_url).close()
    conn = sqlite3.connect(home / "ledger.db")
    conn.execute("UPDATE ledger_meta SET value = 'x' || printf('%.1000c', 'y') WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    line = one_error(cli("--db", sqlite_url, "flows", "list"), str(home / "ledger.db"),
                     "is not a number: the ledger is damaged; restore it from a backup")
    assert "y" * 41 not in line


def damage_middle(db: Path) -> None:
    """Random bytes over a page in the middle of the file (after a checkpoint: no WAL)."""
    size = db.stat().st_size
    page = 4096
    middle = (size // page // 2) * page
    with open(db, "r+b") as fh:  # no connection of this process is open on it
        fh.seek(middle)
        fh.write(random.Random(7).randbytes(page))


@pytest.fixture
def damaged_ledger(sqlite_url: str, home: Path) -> Path:
    with Ledger(sqlite_url) as led:
        for i in range(300):
            led.submit(parse_spec({"goal": f"goal {i} " + "x" * 200,
                                   "tasks": [{"label": f"t{j}", "command": ["true"]} for j in range(3)]}))
        led.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db = home / "ledger.db"
    damage_middle(db)
    return db


def test_random_bytes_in_the_middle_stop_the_supervisor_and_fail_the_audit(sqlite_url: str,
                                                                          damaged_ledger: Path) -> None:
    before = damaged_ledger.read_bytes()
    one_error(cli("--db", sqlite_url, "supervise", "-q", "--until-idle"), str(damaged_ledger),
              "fails SQLite's quick_check", "restore it from a backup")
    audit = cli("--db", sqlite_url, "audit", "--json")
    assert "\"code\": \"ledger_damaged\"" in audit.stdout, (audit.stdout, audit.stderr)
    one_error(cli("--db", sqlite_url, "maintenance", "--apply"), "quick_check", "nothing was repaired")
    assert damaged_ledger.read_bytes() == before


def test_a_table_gone_before_start_is_one_line(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as led:
        led.submit(command_spec("g", ["true"]))
        led.db.execute_sql("DROP TABLE event")
    for args in (("supervise", "-q", "--until-idle"), ("flows", "list")):
        one_error(cli("--db", sqlite_url, *args), "table 'event' is missing: the ledger is damaged")


def test_a_table_dropped_under_a_running_supervisor_stops_it(sqlite_url: str) -> None:
    """It used to retry forever, silently with -q."""
    from openclaw_board.supervisor import Supervisor

    with Ledger(sqlite_url) as led:
        sup = Supervisor(sqlite_url, poll_interval_s=0.05)
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(sup.run()), daemon=True)
        thread.start()
        assert sup.ready.wait(60)
        led.db.execute_sql("DROP TABLE task")
        wait_for(lambda: result, "the supervisor stopped", limit=60)
    assert result == [1] and sup.error is not None
    assert "no such table: task" in sup.error and "restore it from a backup" in sup.error


# -- read-only ledgers ------------------------------------------------------------------


def in_readonly_mount(source: Path, target: Path) -> tuple[str, ...]:
    """A command prefix: run it with `target` a read-only bind mount of `source`."""
    if not IS_ROOT or shutil.which("unshare") is None:
        pytest.skip("a read-only bind mount needs root and unshare(1)")
    target.mkdir()
    script = (f'mount --bind "{source}" "{target}" && mount -o remount,bind,ro "{target}" && exec "$@"')
    return ("unshare", "-m", "sh", "-c", script, "sh")


def test_a_ledger_on_a_read_only_filesystem_can_be_read(tmp_path: Path, home: Path) -> None:
    with Ledger(f"sqlite:///{home / 'ledger.db'}") as led:
        led.submit(command_spec("read me", ["true"], label="ro"))
    mnt = tmp_path / "mnt"
    prefix = in_readonly_mount(home, mnt)
    url = f"sqlite:///{mnt / 'ledger.db'}"
    before = digest(home)
    listing = cli("--db", url, "flows", "list", "--json", prefix=prefix)
    assert listing.returncode == 0 and '"goal": "read me"' in listing.stdout, listing.stderr
    tasks = cli("--db", url, "tasks", "list", "--json", prefix=prefix)
    assert tasks.returncode == 0 and '"label": "ro"' in tasks.stdout, tasks.stderr
    one_error(cli("--db", url, "submit", "--goal", "g", "--", "true", prefix=prefix),
              str(mnt / "ledger.db"), "cannot be written")
    one_error(cli("--db", url, "supervise", "-q", "--until-idle", prefix=prefix),
              str(mnt / "ledger.db"), "cannot be written")
    assert digest(home) == before and sorted(p.name for p in home.iterdir()) == ["ledger.db"]


def test_a_read_only_ledger_with_a_wal_left_behind_says_what_to_do(tmp_path: Path, home: Path) -> None:
    """A WAL with commits in it needs a -shm SQLite cannot make on a read-only filesystem."""
    db = home / "ledger.db"
    with Ledger(f"sqlite:///{db}") as led:
        led.submit(command_spec("g", ["true"]))
    # A copy taken while a writer had it open: ledger, -wal with commits, and no -shm.
    holder = sqlite3.connect(db)
    holder.execute("PRAGMA wal_autocheckpoint=0")
    holder.execute("INSERT INTO ledger_meta(key, value) VALUES ('k', 'v')")
    holder.commit()
    snap = tmp_path / "snap"
    snap.mkdir(mode=0o700)
    for name in ("ledger.db", "ledger.db-wal"):
        shutil.copy2(home / name, snap / name)
    holder.close()
    prefix = in_readonly_mount(snap, tmp_path / "mnt")
    one_error(cli("--db", str(tmp_path / "mnt" / "ledger.db"), "flows", "list", prefix=prefix),
              "is on a read-only filesystem with unfinished writes", "copy the ledger and its -wal")


def test_readonly_open_writes_nothing(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as led:
        led.submit(command_spec("g", ["true"]))
    before = (home / "ledger.db").read_bytes()
    with Ledger(sqlite_url, readonly=True) as led:
        assert led.readonly and len(led.list_flows()) == 1
        with pytest.raises(Exception, match="readonly|read-only|query_only"):
            led.submit(command_spec("g2", ["true"]))
    # Like any SQLite reader of a WAL database, it may leave an empty -wal and a -shm behind.
    assert (home / "ledger.db").read_bytes() == before
    assert not Path(f"{home / 'ledger.db'}-wal").exists() or Path(f"{home / 'ledger.db'}-wal").stat().st_size == 0


def test_library_errors_name_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "empty.db"
    bogus.touch(mode=0o600)
    with pytest.raises(LedgerUnavailable, match=str(bogus)):
        Ledger(str(bogus))
