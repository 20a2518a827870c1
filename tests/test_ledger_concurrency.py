"""Real processes hammer one SQLite ledger: three supervisors claim and finish, an operator
cancels, retries, reopens and approves at the same time.

Checked afterwards: no task claimed twice (exactly one `claimed` event per task id, and no
id in two workers' lists), no error other than a refusal reached a caller (so never
"database is locked"), and nothing lost: every task and every flow ended terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from ledger_testkit import spec

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.states import TERMINAL_FLOW, TERMINAL_TASK, derive_flow_status

WORKER = r"""
import json, os, random, sys, time
from openclaw_board.ledger import Ledger, LedgerError

url, name, done_flag, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(seed)
claimed, errors, refused = [], [], 0
deadline = time.monotonic() + 20
with Ledger(url) as ledger:
    sup = ledger.register_supervisor("host-" + name, os.getpid(), None)
    sid = sup.supervisor_id
    while time.monotonic() < deadline:
        try:
            task = ledger.claim_next(sid, "host-" + name).task
            if task is None:
                idle = not ledger.list_tasks(status="queued") and not ledger.list_tasks(status="running")
                if os.path.exists(done_flag) and idle and not ledger.list_tasks(status="awaiting_approval"):
                    break
                ledger.heartbeat(sid)
                time.sleep(0.01)
                continue
            claimed.append(task.task_id)
            ledger.record_process(task.task_id, sid, 10_000 + len(claimed), None, "/tmp/run")
            ledger.report_progress(task.task_id, sid, progress=50, summary="half way")
            if ledger.get_task(task.task_id).cancel_requested_at is not None:
                outcome = "cancelled"
            else:
                outcome = rng.choice(["succeeded"] * 6 + ["failed", "timed_out", "blocked"])
            ledger.finish(task.task_id, outcome, supervisor_id=sid, exit_code=0 if outcome == "succeeded" else 1)
        except LedgerError:
            refused += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    else:
        errors.append("deadline: work never settled")
print(json.dumps({"claimed": claimed, "errors": errors, "refused": refused}))
"""

OPERATOR = r"""
import json, random, sys, time
from openclaw_board.ledger import Ledger, LedgerError

url, done_flag, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
errors, done, refused = [], {}, 0
end = time.monotonic() + 2.0
with Ledger(url) as ledger:
    def act(name, call):
        global refused
        try:
            call()
            done[name] = done.get(name, 0) + 1
        except LedgerError:
            refused += 1
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")

    while time.monotonic() < end:
        tasks = ledger.list_tasks()
        flows = ledger.list_flows()
        if not tasks:
            break
        active = [t for t in tasks if t.status in ("queued", "running", "awaiting_approval")]
        task, flow = rng.choice(active if active and rng.random() < 0.7 else tasks), rng.choice(flows)
        kind = rng.choice(["cancel_task", "cancel_flow", "retry", "reopen", "approve", "approve"])
        if kind == "cancel_task":
            act(kind, lambda: ledger.cancel_task(task.task_id))
        elif kind == "cancel_flow":
            act(kind, lambda: ledger.cancel_flow(flow.flow_id))
        elif kind == "retry":
            act(kind, lambda: ledger.retry(task.task_id))
        elif kind == "reopen":
            act(kind, lambda: ledger.reopen(flow.flow_id))
        else:
            act(kind, lambda: ledger.approve(task.task_id))
        time.sleep(0.002)
    # Nothing new will need approval after this: let every waiting task run.
    for task in ledger.list_tasks(status="awaiting_approval"):
        act("approve", lambda: ledger.approve(task.task_id))
open(done_flag, "w").close()
print(json.dumps({"errors": errors, "done": done, "refused": refused}))
"""


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_processes_hammering_one_ledger(ledger_url: str, tmp_path: Path) -> None:
    sqlite_url = ledger_url
    with Ledger(sqlite_url) as ledger:
        for i in range(30):
            ledger.submit(spec(
                {"label": "a", "retries": 1, "retry_backoff": 0},
                {"label": "b", "after": ["a"], "requires_approval": i % 4 == 0},
                {"label": "c", "after": ["a"], "retries": 1, "retry_backoff": 0},
                {"label": "d", "after": ["b", "c"]},
                goal=f"flow {i}",
            ))
    done_flag = str(tmp_path / "operator-done")
    procs = [_spawn(WORKER, sqlite_url, f"w{n}", done_flag, str(n)) for n in range(3)]
    procs.append(_spawn(OPERATOR, sqlite_url, done_flag, "99"))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    workers, operator = results[:3], results[3]

    # No error but a refusal reached a caller ("database is locked" would be one).
    assert [e for r in results for e in r["errors"]] == []
    assert operator["done"], "the operator never changed anything"

    with Ledger(sqlite_url) as ledger:
        Event, Task = ledger.m.Event, ledger.m.Task
        claims = Counter(e.task_id for e in Event.select().where(Event.kind == "claimed"))
        by_workers = [t for w in workers for t in w["claimed"]]
        assert all(n == 1 for n in claims.values()), [t for t, n in claims.items() if n > 1]
        assert len(by_workers) == len(set(by_workers)) == len(claims)
        assert set(by_workers) == set(claims)
        assert all(w["claimed"] for w in workers), "a worker never got work"

        # Nothing lost: every attempt and every flow settled, consistently.
        tasks = list(Task.select())
        assert tasks and all(t.status in TERMINAL_TASK for t in tasks)
        assert all(t.ended_at is not None for t in tasks)
        for flow in ledger.list_flows():
            latest = [t.status for t in ledger.latest_attempts(flow.flow_id)]
            assert flow.status in TERMINAL_FLOW
            assert flow.status == derive_flow_status(latest, flow.cancel_requested_at is not None)
        bug_codes = {"inconsistent_timestamps", "flow_status_mismatch", "missing_task"}
        assert not {f.code for f in ledger.audit()} & bug_codes
