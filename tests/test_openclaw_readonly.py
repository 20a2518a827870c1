"""The OpenClaw ledger is read live and never written: URLs, refusals, WAL, bytes and mtime."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from openclaw_fixtures import MIN, NOW, OpenClawFile, Standard, new_id

from openclaw_board.ledger import Ledger, LedgerUnavailable
from openclaw_board.ledger.clock import fixed_clock
from openclaw_board.ledger.openclaw import OpenClawLedger, is_openclaw, open_any, resolve_path


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def read_everything(led: OpenClawLedger) -> None:
    for task in led.list_tasks(all_attempts=True):
        led.get_task(task.task_id[:9])
        led.task_events(task.task_id)
        led.attempts_of(task)
    for flow in led.list_flows():
        led.get_flow(flow.flow_id)
        led.flow_attempts(flow.flow_id)
        led.flow_events(flow.flow_id)
    led.task_counts()
    led.task_pressure()
    led.flow_pressure()
    led.audit()
    led.maintenance(apply=False)
    led.events_since(0)
    led.last_event_id()


def test_nothing_is_ever_written(std: Standard) -> None:
    std.file.close()  # the gateway stops: its checkpoint folds the WAL into the file
    db = std.path
    assert not Path(f"{db}-wal").exists()
    before = fingerprint(db)
    for _ in range(3):
        with OpenClawLedger(std.url, clock=fixed_clock(NOW)) as led:
            for _ in range(20):
                read_everything(led)
                led.refresh()
    assert fingerprint(db) == before
    # SQLite made the WAL index files a WAL reader needs; nothing was written to the log.
    assert Path(f"{db}-wal").stat().st_size == 0
    assert Path(f"{db}-shm").exists()


def test_writes_are_refused_by_sqlite_itself(std: Standard) -> None:
    with OpenClawLedger(std.url) as led:
        with pytest.raises(Exception, match="readonly|read-only|query_only"):
            led.db.execute_sql("UPDATE task_runs SET status = 'failed'")
        led.db.execute_sql("PRAGMA query_only = 0")  # even without query_only, mode=ro holds
        with pytest.raises(Exception, match="readonly"):
            led.db.execute_sql("DELETE FROM task_runs")
    with sqlite3.connect(std.path) as conn:
        assert conn.execute("SELECT count(*) FROM task_runs WHERE status = 'failed'").fetchone()[0] == 3


def test_a_write_by_the_gateway_appears_on_the_next_read(std: Standard) -> None:
    fx = std.file
    with OpenClawLedger(std.url, clock=fixed_clock(NOW)) as led:
        assert led.task_pressure()["queued"] == 2
        start_id = led.last_event_id()
        reads = led.reads
        led.list_tasks()
        led.task_pressure()
        assert led.reads == reads  # nothing committed: no new read of the file

        fx.update_task(std.t["queued"], status="running", started_at=NOW, last_event_at=NOW)
        new = fx.add_task(label="fresh", runtime="cron", created_at=NOW)
        assert led.task_pressure() == {"queued": 2, "running": 4, "issues": 8}
        assert led.reads == reads + 1
        assert led.get_task(new).label == "fresh"
        evs = led.events_since(start_id)
        # The new standalone task brings its one-task flow.
        assert [(e.flow_id, e.task_id, e.kind, e.from_status, e.to_status) for e in evs] == [
            (new, None, "submitted", None, "queued"), (new, new, "task_added", None, "queued"),
            (std.f["running"], std.t["queued"], "started", "queued", "running")]
        assert [e.id for e in evs] == [start_id + 1, start_id + 2, start_id + 3]
        assert led.last_event_id() == start_id + 3
        assert led.events_since(led.last_event_id()) == []

        fx.update_task(std.t["run"], progress_summary="99 of 100 leads", last_event_at=NOW + 1)
        fx.update_task(std.t["stale_queued"], delivery_status="failed")
        fx.delete_task(std.t["lost_expired"])
        kinds = [(e.task_id, e.kind) for e in led.events_since(start_id + 3)]
        assert (std.t["run"], "progress") in kinds and (std.t["stale_queued"], "delivery") in kinds
        assert (std.t["lost_expired"], "pruned") in kinds
        assert led.get_task(std.t["run"]).progress_summary == "99 of 100 leads"


def test_journal_is_seeded_with_every_timeline(std: Standard) -> None:
    with OpenClawLedger(std.url, clock=fixed_clock(NOW)) as led:
        evs = led.events_since(0)
        assert len(evs) == led.last_event_id() and [e.id for e in evs] == list(range(1, len(evs) + 1))
        ats = [e.at for e in evs]
        assert ats == sorted(ats)
        assert led.events_since(len(evs) - 3, limit=2) == evs[-3:-1]


def test_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnavailable, match=r"no OpenClaw ledger at .*nowhere\.sqlite"):
        OpenClawLedger(f"openclaw://{tmp_path / 'nowhere.sqlite'}")
    assert not (tmp_path / "nowhere.sqlite").exists()


@pytest.mark.parametrize("content", [b"hello, not a database\n" * 10, b""])
def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "openclaw.sqlite"
    path.write_bytes(content)
    with pytest.raises(LedgerUnavailable, match="not an OpenClaw ledger: not a SQLite database"):
        OpenClawLedger(f"openclaw://{path}")
    assert path.read_bytes() == content


def test_sqlite_without_task_runs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    with pytest.raises(LedgerUnavailable, match="not an OpenClaw ledger: no task_runs table"):
        OpenClawLedger(f"openclaw://{path}")


def test_our_own_ledger_is_refused_as_openclaw_and_opened_as_ours(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url).close()
    with pytest.raises(LedgerUnavailable, match="our own ledger"):
        OpenClawLedger(f"openclaw://{tmp_path / 'ledger.db'}")
    led = open_any(url)
    assert isinstance(led, Ledger)
    led.close()


def test_open_any_routes_an_openclaw_file_given_as_a_plain_path(std: Standard) -> None:
    std.file.close()
    before = fingerprint(std.path)
    for url in (str(std.path), f"sqlite:///{std.path}", std.url):
        assert is_openclaw(url)
        with open_any(url) as led:
            assert isinstance(led, OpenClawLedger) and len(led.list_tasks()) == 18
    assert fingerprint(std.path) == before  # our Ledger never got to migrate it


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "oc"))
    assert resolve_path("openclaw://") == tmp_path / "oc" / "state" / "openclaw.sqlite"
    assert resolve_path("openclaw:") == tmp_path / "oc" / "state" / "openclaw.sqlite"
    monkeypatch.delenv("OPENCLAW_STATE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_path("openclaw://") == tmp_path / "home" / ".openclaw" / "state" / "openclaw.sqlite"
    assert resolve_path("openclaw:///srv/x.sqlite") == Path("/srv/x.sqlite")
    (tmp_path / "st" / "state").mkdir(parents=True)
    (tmp_path / "st" / "state" / "openclaw.sqlite").touch()
    assert resolve_path(f"openclaw://{tmp_path / 'st'}") == tmp_path / "st" / "state" / "openclaw.sqlite"
    with pytest.raises(LedgerUnavailable, match="bad OpenClaw URL"):
        resolve_path("openclaw://relative/path")


def test_default_location_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "oc" / "state").mkdir(parents=True)
    fx = OpenClawFile(tmp_path / "oc" / "state" / "openclaw.sqlite")
    fx.add_task(task_id=new_id(), created_at=NOW - MIN)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "oc"))
    with open_any("openclaw://") as led:
        assert len(led.list_tasks()) == 1 and led.display_url.endswith("oc/state/openclaw.sqlite")
    fx.close()


@pytest.mark.skipif(os.getuid() != 0, reason="only root can hand files to another user")
def test_sidecars_created_as_root_belong_to_the_ledger_owner(std: Standard) -> None:
    std.file.close()
    os.chown(std.path, 4321, 4321)
    with OpenClawLedger(std.url) as led:
        led.list_tasks()
    for suffix in ("-wal", "-shm"):
        assert Path(f"{std.path}{suffix}").stat().st_uid == 4321
