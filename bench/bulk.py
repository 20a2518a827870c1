"""Big realistic ledgers, fast: rows straight through the Ledger's models with insert_many,
all in one transaction (a fixture for the board and listing benchmarks, never a way to
change a status in a real ledger).

Shape, per `tasks` rows (attempts included):
- flows of 1 to 6 tasks (3.5 on average), created over the last 30 days, oldest first;
- 88% of flows succeeded, 5% failed (the failing task has an earlier failed attempt and an
  error), 2% blocked (exit 75 with a summary), 1% cancelled, 4% live (first task running
  with progress, the rest queued; created in the last hour); the flow status is what `derive_flow_status` gives;
- every task has the events a real run leaves (task_added, claimed, started, finished),
  every flow submitted and its last flow_status, so the event log is ~4.5 rows a task;
- commands, labels, goals and summaries of realistic lengths.

Rows go in with the driver's executemany over the models' own columns and defaults.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.states import derive_flow_status

SIZES = (1, 3, 5, 2, 4, 6)
GOALS = ("Nightly lead enrichment", "Batch research: vendor pricing", "Weekly report for ops",
         "Scrape release notes", "Re-index product catalogue", "Summarise support tickets")
LABELS = ("fetch", "enrich", "dedupe", "score", "publish", "notify")


def _kind(i: int) -> str:
    r = i % 100
    if r < 88:
        return "succeeded"
    if r < 93:
        return "failed"
    if r < 95:
        return "blocked"
    if r < 96:
        return "cancelled"
    return "live"


def rows(tasks: int, now_ms: int | None = None, seed: int = 7, live: bool = True,
         live_flows: int | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """(flows, tasks, events) as column dicts; exactly `tasks` task rows. `live_flows`: exactly
    that many live flows (the newest ones), the rest finished, instead of 4% live."""
    rnd = random.Random(seed)
    now = now_ms or int(time.time() * 1000)
    span = 30 * 24 * 3600 * 1000
    flows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    i = 0
    while len(task_rows) < tasks:
        kind = _kind(i)
        if kind == "live" and (not live or live_flows is not None):
            kind = "succeeded"
        room = tasks - len(task_rows) - (live_flows or 0)  # task rows left for finished flows
        if live_flows is not None and room <= 0:
            kind = "live"  # one task each, so the last `live_flows` flows are the live ones
        size = 1 if live_flows is not None and kind == "live" else min(SIZES[i % len(SIZES)], room)
        at = now - span + int(span * len(task_rows) / tasks)
        if kind == "live":  # live work is recent, not weeks old
            at = now - rnd.randint(60_000, 3_600_000)
        fid = str(uuid.uuid4())
        goal = f"{GOALS[i % len(GOALS)]} #{i}"
        latest: list[str] = []
        for j in range(size):
            label = LABELS[j]
            status = {"succeeded": "succeeded", "cancelled": "cancelled" if j == size - 1 else "succeeded",
                      "failed": "failed" if j == size - 1 else "succeeded",
                      "blocked": "blocked" if j == size - 1 else "succeeded",
                      "live": "running" if j == 0 else "queued"}[kind]
            attempts = 2 if status == "failed" and len(task_rows) + 1 < tasks else 1
            parent = None
            for attempt in range(1, attempts + 1):
                tid = str(uuid.uuid4())
                st = status if attempt == attempts else "failed"
                t0 = at + j * 60_000 + (attempt - 1) * 5_000
                ran = st != "queued" and not (st == "cancelled")
                ended = None if st in ("running", "queued") else t0 + rnd.randint(500, 50_000)
                row = dict(
                    task_id=tid, flow=fid, label=label, runtime="cli", status=st, attempt=attempt,
                    parent_task_id=parent, is_latest=attempt == attempts,
                    command_json=json.dumps(["python3", f"{label}.py", "--batch", str(i), "--region", "eu"]),
                    timeout_s=600.0, retries=1 if status == "failed" else 0,
                    after_json=json.dumps([LABELS[j - 1]] if j else []),
                    exit_code={"succeeded": 0, "failed": 1, "blocked": 75}.get(st),
                    error=("exit 1: ConnectionError: upstream timed out after 30 s" if st == "failed"
                           else "cancelled by operator" if st == "cancelled" else None),
                    progress=rnd.randint(5, 95) if st == "running" else (100.0 if st == "succeeded" else None),
                    progress_summary=f"{rnd.randint(10, 900)} of 1000 records" if st == "running" else None,
                    terminal_summary=("needs a fresh API token" if st == "blocked" else
                                      f"{rnd.randint(100, 5000)} records written" if st == "succeeded" else None),
                    created_at=t0, started_at=t0 + 200 if ran else None, ended_at=ended,
                    last_event_at=ended or t0 + 200,
                    supervisor_id=None, host="bench-host" if ran else None,
                    pid=rnd.randint(1000, 60000) if ran else None, pid_start=t0 if ran else None,
                )
                task_rows.append(row)
                events.append(dict(at=t0, flow_id=fid, task_id=tid, kind="task_added", to_status="queued",
                                   actor="cli"))
                if ran:
                    events.append(dict(at=t0 + 100, flow_id=fid, task_id=tid, kind="claimed",
                                       from_status="queued", to_status="running", actor="supervisor:bench"))
                    events.append(dict(at=t0 + 200, flow_id=fid, task_id=tid, kind="started",
                                       actor="supervisor:bench", detail=f"pid {row['pid']}"))
                if ended:
                    events.append(dict(at=ended, flow_id=fid, task_id=tid, kind="finished", from_status="running",
                                       to_status=st, actor="supervisor:bench", detail=row["error"]))
                parent = tid
            latest.append(status)
        status = derive_flow_status(latest, False)
        last = max(r["last_event_at"] for r in task_rows[-size:]) if size else at
        flows.append(dict(flow_id=fid, goal=goal, label=None, status=status, created_at=at, updated_at=last,
                          ended_at=last if status not in ("running", "queued") else None, revision=size * 3))
        events.append(dict(at=at, flow_id=fid, kind="submitted", to_status="queued", actor="cli", detail=goal))
        events.append(dict(at=last, flow_id=fid, kind="flow_status", from_status="running", to_status=status,
                           actor="supervisor:bench"))
        i += 1
    return flows, task_rows, events


def _insert(db: Any, model: Any, items: list[dict[str, Any]]) -> None:
    """executemany over every column of the model, with the model's defaults where a row has none
    (peewee's insert_many builds one big SQL text per chunk: ten times slower at 100,000 tasks)."""
    fields = [f for f in model._meta.sorted_fields if not (f.primary_key and f.name == "id")]
    defaults = {f.name: (f.default() if callable(f.default) else f.default) for f in fields}
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join([db.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    names = [f.name for f in fields]
    values = [tuple(row.get(name, defaults[name]) for name in names) for row in items]
    cursor = db.cursor()
    for k in range(0, len(values), 5000):
        cursor.executemany(sql, values[k:k + 5000])


def fill(url: str, tasks: int, live: bool = True, live_flows: int | None = None) -> dict[str, int]:
    """Create the ledger at `url` holding `tasks` task rows (no running or queued ones unless
    `live`; exactly `live_flows` live flows of one running task when given); {table: rows} written."""
    flows, task_rows, events = rows(tasks, live=live, live_flows=live_flows)
    with Ledger(url) as ledger:
        m = ledger.m
        with ledger.db.atomic():
            for model, items in ((m.Flow, flows), (m.Task, task_rows), (m.Event, events)):
                _insert(ledger.db, model, items)
    return {"flows": len(flows), "tasks": len(task_rows), "events": len(events)}
