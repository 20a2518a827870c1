"""The PostgreSQL server restarts in the middle of a run: supervisors and listeners recover,
and no transition is lost (every task ends with its true status, each ran once).

The server stays down longer than the supervisors' lease: when it is back, every heartbeat
looks expired, and the first supervisor to reconnect must not declare the others dead
(each waits one lease after an outage before it judges other hosts)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_BASE, PG_SKIP_REASON, pg_schema
from multihost_support import start_supervisor, stop, wait_for

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.ledger.notify import ChangeListener

CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect"]


def _cluster() -> list[str] | None:
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if (p / "main").is_dir())
    return [versions[-1], "main"] if versions else None


def _answers() -> bool:
    import psycopg2

    try:
        psycopg2.connect(PG_BASE, connect_timeout=2).close()
    except Exception:  # noqa: BLE001 - any failure: not up (yet)
        return False
    return True


@pytest.fixture
def restartable_url() -> Iterator[str]:
    """A schema of our own, dropped over a FRESH connection (the restart kills old ones);
    the server is started again at the end whatever happened."""
    if PG_SKIP_REASON:
        pytest.skip(PG_SKIP_REASON)
    cluster = _cluster()
    if cluster is None or subprocess.run([*CLUSTER, *cluster, "status"], capture_output=True).returncode != 0:
        pytest.skip("no local PostgreSQL cluster this test may restart (pg_ctlcluster)")
    with pg_schema() as url:
        try:
            yield url
        finally:
            if not _answers():
                subprocess.run([*CLUSTER, *cluster, "start"], capture_output=True, timeout=60)
                wait_for("PostgreSQL answers again", _answers, timeout=60, every=0.5)


LEASE_MS = 2500
DOWN_S = 4.0  # longer than the lease


@pytest.mark.slow  # ~15 s: the server down for 4 s in the middle of 40 tasks
@pytest.mark.postgres
@pytest.mark.restarts_postgres
def test_supervisors_and_listeners_survive_a_server_restart(restartable_url: str, home: Path, tmp_path: Path) -> None:
    url = restartable_url
    ran = tmp_path / "ran"
    script = 'echo "$1" >> "$0"; sleep 0.4'
    specs = [{"goal": f"part {k}", "tasks": [
        {"label": f"t{i:02d}", "command": ["sh", "-c", script, str(ran), f"p{k}-t{i:02d}"]} for i in range(10)]}
        for k in range(4)]
    with Ledger(url) as ledger:
        flows = [ledger.submit(parse_spec(s))[0] for s in specs]
    listener = ChangeListener(url)
    sups = [start_supervisor(url, host, home, concurrency=3, lease_ms=LEASE_MS, lease_check_s=0.3)
            for host in ("alpha", "bravo")]
    try:
        def done_count() -> int:
            with Ledger(url) as led:
                return sum(1 for f in flows for t in led.flow_attempts(f) if t.status == "succeeded")

        wait_for("some tasks are done", lambda: done_count() >= 8, timeout=60)
        assert listener.wait(5)  # it hears the work going on
        cluster = _cluster()
        assert cluster is not None
        subprocess.run([*CLUSTER, *cluster, "stop"], check=True, capture_output=True, timeout=120)
        time.sleep(DOWN_S)
        subprocess.run([*CLUSTER, *cluster, "start"], check=True, capture_output=True, timeout=120)

        # The listener lost its connection: it reconnects, LISTENs again and says "something changed".
        wait_for("the listener reconnects", lambda: listener.wait(1) and listener.reconnects >= 1, timeout=60)
        assert listener.listening

        def all_settled() -> bool:
            with Ledger(url) as led:
                return all(led.get_flow(f).status in ("succeeded", "failed", "lost", "cancelled") for f in flows)

        wait_for("every flow settles", all_settled, timeout=90, every=0.5)
    finally:
        listener.close()
        journals = [stop(p) for p in sups]
    assert all(p.returncode == 0 for p in sups), journals
    assert all("ledger reachable again" in j for j in journals), journals  # they saw the outage, and its end
    assert not any("missed its lease" in j for j in journals), journals  # nobody was declared dead

    with Ledger(url) as ledger:
        rows = [t for f in flows for t in ledger.flow_attempts(f)]
        assert {(t.status, t.attempt, t.exit_code) for t in rows} == {("succeeded", 1, 0)}, journals
        assert len(rows) == 40
        Event = ledger.m.Event
        claims = Counter(e.task_id for e in Event.select().where(Event.kind == "claimed"))
        assert len(claims) == 40 and set(claims.values()) == {1}
        ends = Counter(e.task_id for e in Event.select().where(Event.kind == "finished"))
        assert len(ends) == 40 and set(ends.values()) == {1}
    runs = Counter(ran.read_text().split())
    assert len(runs) == 40 and set(runs.values()) == {1}
