"""Claims that scale on PostgreSQL: many claimers at once, nothing claimed or run twice."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from multihost_support import start_supervisor

from openclaw_board.ledger import Ledger, parse_spec

CLAIMER = """
import json, sys
from openclaw_board.ledger import Ledger
url, host = sys.argv[1], sys.argv[2]
got = []
with Ledger(url) as ledger:
    sid = ledger.register_supervisor(host, 1, None).supervisor_id
    while True:
        task = ledger.claim_next(sid, host).task
        if task is None:
            break
        got.append(task.task_id)
        ledger.finish(task.task_id, "succeeded", supervisor_id=sid, exit_code=0)
print(json.dumps(got))
"""


def test_four_concurrent_claimers_never_claim_a_task_twice(pg_url: str) -> None:
    with Ledger(pg_url) as ledger:
        # Several flows, so that claimers are not all serialised on one flow row.
        for k in range(5):
            ledger.submit(parse_spec({"goal": f"batch {k}", "tasks": [
                {"label": f"t{i:02d}", "command": ["true"]} for i in range(30)]}))
        procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, pg_url, f"host-{n}"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for n in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
        claimed = [tid for out, _ in outs for tid in json.loads(out)]
        assert len(claimed) == 150 and len(set(claimed)) == 150
        # Every claimer got work (they ran side by side, not one after the other).
        assert all(json.loads(out) for out, _ in outs)
        tasks = ledger.list_tasks()
        assert len(tasks) == 150 and {t.status for t in tasks} == {"succeeded"}
        claims = Counter(e.task_id for e in ledger.m.Event.select().where(ledger.m.Event.kind == "claimed"))
        assert set(claims.values()) == {1} and len(claims) == 150


@pytest.mark.slow  # ~18 s on 2 cores: 500 real processes
def test_three_hosts_run_500_tasks_each_exactly_once(pg_url: str, home: Path, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    with Ledger(pg_url) as ledger:
        flows = []
        for k in range(10):
            tasks = [{"label": f"t{i:03d}", "command": ["sh", "-c", 'echo "$1" >> "$0"', str(ran), f"f{k}-t{i:03d}"]}
                     for i in range(50)]
            flows.append(ledger.submit(parse_spec({"goal": f"part {k}", "tasks": tasks}))[0])
        hosts = ["alpha", "bravo", "charlie"]
        procs = [start_supervisor(pg_url, h, home, until_idle=True, concurrency=3) for h in hosts]
        journals = [p.communicate(timeout=180)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], journals

        runs = Counter(ran.read_text().split())
        assert len(runs) == 500 and set(runs.values()) == {1}
        rows = [t for f in flows for t in ledger.flow_attempts(f)]
        assert len(rows) == 500 and {t.status for t in rows} == {"succeeded"} and {t.attempt for t in rows} == {1}
        Event = ledger.m.Event
        claims = Counter(e.task_id for e in Event.select().where(Event.kind == "claimed"))
        assert len(claims) == 500 and set(claims.values()) == {1}
        # The work was shared by the three hosts, and each task names the host that ran it.
        assert {t.host for t in rows} == set(hosts)
        sups = {s.supervisor_id: s.host for s in ledger.supervisors()}
        assert all(sups[t.supervisor_id] == t.host for t in rows)


def test_a_stopped_supervisor_may_not_claim(pg_url: str, home: Path) -> None:
    from openclaw_board.ledger import StaleOwner, command_spec

    with Ledger(pg_url) as ledger:
        ledger.submit(command_spec("one", ["true"]))
        sup = ledger.register_supervisor("alpha", 1, None)
        assert ledger.declare_supervisor_dead(sup.supervisor_id)
        try:
            ledger.claim_next(sup.supervisor_id, "alpha")
        except StaleOwner as exc:
            assert "may not claim" in str(exc)
        else:
            raise AssertionError("a declared-dead supervisor claimed a task")
        assert ledger.list_tasks()[0].status == "queued"
