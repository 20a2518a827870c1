"""Several supervisors on one ledger: claims/s and tasks/s with 1, 2, 4 of them, on PostgreSQL and
SQLite; commit-to-listener latency over LISTEN/NOTIFY; cancel and submit-to-start latency across "hosts".

    python -m bench.multihost_bench [--claims 400] [--tasks 200] [--pg postgresql://...]

Prints Markdown tables. Supervisors and claimers are separate processes, each with its own
host name (OPENCLAW_BOARD_HOST), on a fresh ledger per measurement: a temporary SQLite file,
or a fresh schema in the PostgreSQL database (dropped afterwards). 2 cores are shared by all
processes here, so the figures say how the ledger scales with contenders on one machine,
not how much faster more machines would be.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openclaw_board.ledger import Ledger, command_spec, parse_spec
from openclaw_board.ledger.db import redact

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"

CLAIMER = """
import json, sys, time
from openclaw_board.ledger import Ledger
url, host, go = sys.argv[1], sys.argv[2], float(sys.argv[3])
n = 0
with Ledger(url) as ledger:
    sid = ledger.register_supervisor(host, 1, None).supervisor_id
    time.sleep(max(0.0, go - time.time()))
    while True:
        task = ledger.claim_next(sid, host).task
        if task is None:
            break
        n += 1
        ledger.finish(task.task_id, "succeeded", supervisor_id=sid, exit_code=0)
print(json.dumps({"n": n, "end": time.time()}))
"""

SUPERVISOR = """
import json, signal, sys
from openclaw_board.supervisor import Supervisor
opts = json.loads(sys.argv[1])
sup = Supervisor(opts.pop("url"), **opts)
signal.signal(signal.SIGTERM, lambda *a: sup.request_stop())
sys.exit(sup.run())
"""

LISTENER = """
import sys, time
from openclaw_board.ledger.notify import ChangeListener
listener = ChangeListener(sys.argv[1])
print("ready", flush=True)
while True:
    if listener.wait(10):
        print(time.time(), flush=True)
"""


@contextmanager
def fresh_ledger(kind: str, pg: str, root: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{root / f'l-{uuid.uuid4().hex[:8]}.db'}"
        return
    import psycopg2

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(pg)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg else "?"
    try:
        yield f"{pg}{sep}options=-csearch_path%3D{schema}"
    finally:
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


def submit_batch(ledger: Ledger, n: int, argv: list[str], flows: int = 8) -> list[str]:
    ids = []
    per = max(1, n // flows)
    for k in range(0, n, per):
        tasks = [{"label": f"t{i:04d}", "command": argv} for i in range(k, min(n, k + per))]
        ids.append(ledger.submit(parse_spec({"goal": f"bench {k}", "tasks": tasks}))[0])
    return ids


def claims_per_s(url: str, n: int, k: int, env: dict[str, str]) -> float:
    with Ledger(url) as ledger:
        submit_batch(ledger, n, ["true"])
    go = time.time() + 1.5  # every claimer connected and waiting before the clock starts
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, url, f"host-{i}", str(go)], env=env,
                              stdout=subprocess.PIPE, text=True) for i in range(k)]
    results = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    assert sum(r["n"] for r in results) == n, results
    return n / (max(r["end"] for r in results) - go)


def start_supervisors(url: str, k: int, env: dict[str, str], **opts: object) -> list[subprocess.Popen[str]]:
    procs = []
    for i in range(k):
        args = {"url": url, "host": f"host-{i}", **opts}
        procs.append(subprocess.Popen([sys.executable, "-c", SUPERVISOR, json.dumps(args)],
                                      env={**env, "OPENCLAW_BOARD_HOST": f"host-{i}"}, stderr=subprocess.DEVNULL))
    return procs


def wait_supervisors(ledger: Ledger, k: int) -> None:
    while len(ledger.supervisors(live_only=True)) < k:
        time.sleep(0.05)


def stop_all(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)


def tasks_per_s(url: str, n: int, k: int, env: dict[str, str]) -> float:
    with Ledger(url) as ledger:
        procs = start_supervisors(url, k, env, concurrency=2)
        try:
            wait_supervisors(ledger, k)
            t0 = time.perf_counter()
            flows = submit_batch(ledger, n, ["true"])
            while any(ledger.get_flow(f).status != "succeeded" for f in flows):
                time.sleep(0.05)
            return n / (time.perf_counter() - t0)
        finally:
            stop_all(procs)


def notify_latency(url: str, rounds: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Seconds to a listener in another process waking: (from the commit returning, from the
    write's start). The first is often 0: the wake-up beats the writer's own return."""
    with Ledger(url) as ledger:
        proc = subprocess.Popen([sys.executable, "-c", LISTENER, url], env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        wakes: list[float] = []
        reader = threading.Thread(target=lambda: wakes.extend(float(x) for x in proc.stdout), daemon=True)
        reader.start()
        commits = []
        for i in range(rounds):
            before = time.time()
            ledger.submit(command_spec(f"ping {i}", ["true"]))
            commits.append((before, time.time()))
            time.sleep(0.05)
        time.sleep(0.5)
        proc.terminate()
        proc.wait()
        reader.join(timeout=2)
    # Each commit's wake-up: the first one after the write began (a wake may beat `time.time()`
    # after the commit returned by a hair: then the latency counts as 0).
    after_commit, after_start = [], []
    for before, after in commits:
        wake = next((w for w in wakes if w >= before), None)
        if wake is not None:
            after_commit.append(max(0.0, wake - after))
            after_start.append(wake - before)
    return after_commit, after_start


def cross_host_latency(url: str, env: dict[str, str], listen: bool, rounds: int) -> tuple[list[float], list[float]]:
    """(submit->started, cancel->cancelled) seconds, one idle supervisor on host "far"."""
    starts, cancels = [], []
    with Ledger(url) as ledger:
        procs = start_supervisors(url, 1, env, concurrency=1, listen=listen)
        try:
            wait_supervisors(ledger, 1)
            time.sleep(1.5)  # let it settle into its idle wait
            for i in range(rounds):
                t0 = time.time()
                _, ids = ledger.submit(command_spec(f"long {i}", ["sleep", "30"], label="x"))
                task = ledger.get_task(ids["x"])
                while task.status != "running" or task.pid is None:
                    time.sleep(0.002)
                    task = ledger.get_task(ids["x"])
                starts.append(time.time() - t0)
                time.sleep(0.3)
                t1 = time.time()
                ledger.cancel_task(ids["x"], actor="bench")
                while ledger.get_task(ids["x"]).status != "cancelled":
                    time.sleep(0.002)
                cancels.append(time.time() - t1)
                time.sleep(1.2)  # idle again
        finally:
            stop_all(procs)
    return starts, cancels


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=400)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--pg", default=os.environ.get("OPENCLAW_BOARD_TEST_PG", PG_DEFAULT))
    ap.add_argument("--latency-only", action="store_true", help="skip the throughput table")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "OPENCLAW_BOARD_HOME": str(root / "state")}
        os.environ["OPENCLAW_BOARD_HOME"] = str(root / "state")
        print(f"PostgreSQL: {redact(args.pg)}; {os.cpu_count()} CPUs; {args.claims} claims, "
              f"{args.tasks} `true` tasks (supervisors at concurrency 2)\n")
        if not args.latency_only:
            print("| ledger | supervisors | claims/s (claim+finish, no processes) | tasks/s end to end |")
            print("|---|---|---|---|")
        for kind in () if args.latency_only else ("postgresql", "sqlite"):
            for k in (1, 2, 4):
                with fresh_ledger(kind, args.pg, root) as url:
                    c = claims_per_s(url, args.claims, k, env)
                with fresh_ledger(kind, args.pg, root) as url:
                    t = tasks_per_s(url, args.tasks, k, env)
                print(f"| {kind} | {k} | {c:.0f} | {t:.1f} |", flush=True)

        with fresh_ledger("postgresql", args.pg, root) as url:
            lat, whole = notify_latency(url, args.rounds, env)
        print(f"\n| LISTEN/NOTIFY to a listener in another process ({len(lat)} submits) | p50 | p95 | max |")
        print("|---|---|---|---|")
        for label, values in (("commit returned -> listener woke", lat), ("write began -> listener woke", whole)):
            p50, p95, worst = (x * 1000 for x in (pct(values, .5), pct(values, .95), max(values)))
            print(f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {worst:.1f} ms |")

        print("\n| idle supervisor on another host (PostgreSQL), 8 rounds | submit -> running p50 / max "
              "| cancel -> cancelled p50 / max |")
        print("|---|---|---|")
        for listen in (True, False):
            with fresh_ledger("postgresql", args.pg, root) as url:
                starts, cancels = cross_host_latency(url, env, listen, 8)
            label = "LISTEN/NOTIFY (idle poll 1 s)" if listen else "polling only (poll 0.2 s)"
            print(f"| {label} | {statistics.median(starts) * 1000:.0f} / {max(starts) * 1000:.0f} ms "
                  f"| {statistics.median(cancels) * 1000:.0f} / {max(cancels) * 1000:.0f} ms |", flush=True)


if __name__ == "__main__":
    main()
