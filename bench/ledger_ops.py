"""Ledger: a task's three supervisor writes (claim, record_process, finish) per second.

N queued one-task flows are submitted first (not timed). Then W writer processes (1 and 4)
each loop until nothing is left to claim, timed from a common start (a barrier) until the
last one is done.

- ours: the Ledger API (`claim`, `record_process`, `finish`), each its own transaction with
  its events and the flow's derived status, as the supervisor does it.
- floor: the same three transactions as raw SQL with the driver directly (sqlite3 /
  psycopg2), on the same schema and indexes: claim the oldest queued task (SKIP LOCKED on
  PostgreSQL), set it running, record the pid, finish it, one event per write and the
  flow's status set. Same durability: WAL, synchronous=NORMAL, BEGIN IMMEDIATE on SQLite;
  the server's defaults (synchronous_commit on) on PostgreSQL, for both sides.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import time
from typing import Any

from .common import Row, collect, pg_reason, pg_schema, scratch, skipped, sqlite_url

SECTION = "ledger"
HOST = "bench-host"


def prepare(url: str, n: int) -> None:
    from openclaw_board.ledger import Ledger, command_spec

    with Ledger(url) as ledger:
        for _ in range(n):
            ledger.submit(command_spec("bench", ["true"]))


def _ours(url: str, start: Any, out: Any) -> None:
    from openclaw_board.ledger import Ledger

    with Ledger(url) as ledger:
        sid = ledger.register_supervisor(HOST, os.getpid(), None, concurrency=1, mode="standalone").supervisor_id
        start.wait()
        done = 0
        while (task := ledger.claim_next(sid, HOST).task) is not None:
            ledger.record_process(task.task_id, sid, 4242, 1, "/tmp/none")
            ledger.finish(task.task_id, "succeeded", supervisor_id=sid, exit_code=0)
            done += 1
    out.put(done)


CLAIM = ("SELECT t.task_id, t.flow_id FROM task t JOIN flow f ON f.flow_id = t.flow_id "
         "WHERE t.is_latest = {true} AND t.status = 'queued' AND (t.not_before IS NULL OR t.not_before <= {p}) "
         "AND f.cancel_requested_at IS NULL ORDER BY t.created_at, t.attempt, t.label LIMIT 1{lock}")
EVENT = ("INSERT INTO event (at, flow_id, task_id, kind, from_status, to_status, actor, detail) "
         "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})")


def _raw_sql(is_pg: bool) -> dict[str, str]:
    p = "%s" if is_pg else "?"
    return {
        "claim": CLAIM.format(p=p, true="true" if is_pg else "1", lock=" FOR UPDATE OF t SKIP LOCKED" if is_pg else ""),
        "run": f"UPDATE task SET status = 'running', supervisor_id = {p}, host = {p}, started_at = {p}, "
               f"last_event_at = {p} WHERE task_id = {p} AND status = 'queued'",
        "pid": f"UPDATE task SET pid = {p}, pid_start = {p}, run_dir = {p}, last_event_at = {p} WHERE task_id = {p}",
        "end": f"UPDATE task SET status = 'succeeded', exit_code = 0, ended_at = {p}, last_event_at = {p} "
               f"WHERE task_id = {p}",
        "flow": f"UPDATE flow SET status = {p}, updated_at = {p}, revision = revision + 1 WHERE flow_id = {p}",
        "event": EVENT.format(p=p),
    }


def _raw(url: str, start: Any, out: Any) -> None:
    is_pg = url.startswith("postgres")
    sql = _raw_sql(is_pg)
    if is_pg:
        import psycopg2

        conn = psycopg2.connect(url)
        begin = None  # psycopg2 opens the transaction itself
    else:
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        begin = "BEGIN IMMEDIATE"
    cur = conn.cursor()

    def commit() -> None:
        if begin:
            cur.execute("COMMIT")
        else:
            conn.commit()

    start.wait()
    done = 0
    actor = "supervisor:bench"
    while True:
        now = int(time.time() * 1000)
        if begin:
            cur.execute(begin)
        cur.execute(sql["claim"], (now,))
        row = cur.fetchone()
        if row is None:
            commit()
            break
        task_id, flow_id = row
        cur.execute(sql["run"], ("sid", HOST, now, now, task_id))
        cur.execute(sql["event"], (now, flow_id, task_id, "claimed", "queued", "running", actor, HOST))
        cur.execute(sql["flow"], ("running", now, flow_id))
        commit()

        now = int(time.time() * 1000)
        if begin:
            cur.execute(begin)
        cur.execute(sql["pid"], (4242, 1, "/tmp/none", now, task_id))
        cur.execute(sql["event"], (now, flow_id, task_id, "started", None, None, actor, "pid 4242"))
        commit()

        now = int(time.time() * 1000)
        if begin:
            cur.execute(begin)
        cur.execute(sql["end"], (now, now, task_id))
        cur.execute(sql["event"], (now, flow_id, task_id, "finished", "running", "succeeded", actor, "exit 0"))
        cur.execute(sql["flow"], ("succeeded", now, flow_id))
        commit()
        done += 1
    conn.close()
    out.put(done)


def timed(kind: str, url: str, writers: int, n: int) -> float:
    """Task lifecycles (3 writes each) per second over `writers` processes."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(writers + 1), ctx.Queue()
    target = _ours if kind == "ours" else _raw
    procs = [ctx.Process(target=target, args=(url, start, out)) for _ in range(writers)]
    for proc in procs:
        proc.start()
    start.wait(120)
    t0 = time.perf_counter()
    done = sum(out.get(timeout=600) for _ in procs)
    elapsed = time.perf_counter() - t0
    for proc in procs:
        proc.join(60)
    if done != n:
        raise RuntimeError(f"{kind}: {done} of {n} tasks went through claim/start/finish")
    return n / elapsed


def _one(kind: str, backend: str, writers: int, n: int) -> float:
    if backend == "sqlite":
        with scratch() as home:
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            url = sqlite_url(home)
            prepare(url, n)
            return timed(kind, url, writers, n)
    with pg_schema() as url:
        prepare(url, n)
        return timed(kind, url, writers, n)


def run(quick: bool, runs: int) -> list[Row]:
    n = 100 if quick else 1000
    rows = []
    reason = pg_reason()
    for backend in ("sqlite", "postgresql"):
        for writers in (1, 4):
            figure = f"{backend}, {writers} writer{'s' if writers > 1 else ''}: claim+start+finish"
            if backend == "postgresql" and reason:
                rows.append(skipped(SECTION, figure, reason))
                continue
            ours = collect(runs, lambda _i, b=backend, w=writers: {"rate": _one("ours", b, w, n)})["rate"]
            floor = collect(runs, lambda _i, b=backend, w=writers: {"rate": _one("raw", b, w, n)})["rate"]
            driver = "sqlite3" if backend == "sqlite" else "psycopg2"
            rows.append(Row(SECTION, figure, "tasks/s", ours, floor, f"floor: raw {driver}"))
    return rows
