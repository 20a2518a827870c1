"""Board benchmark: first frame, memory, commit-to-screen latency, idle CPU.

    /work/venv/bin/python bench/board_bench.py            # 10,000 and 100,000 tasks, 30 s idle
    /work/venv/bin/python bench/board_bench.py --quick    # 2,000 and 10,000 tasks, 5 s idle

Each size runs in a fresh process (so memory is the board's own): a ledger is filled
in bulk (5 tasks a flow, 5% of flows live), the board starts headless with live updates
on and no supervisor, and a second process commits new flows one at a time; latency is
from that process's commit to the row being in the board's list (set on the UI thread,
drawn in the same frame). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve()


def fill(url: str, tasks: int) -> None:
    """Bulk rows straight through the models: a fixture, not a way to change status."""
    from openclaw_board.ledger import Ledger

    now = int(time.time() * 1000)
    with Ledger(url) as ledger:
        m = ledger.m
        flows, rows = [], []
        for i in range(tasks // 5):
            fid = str(uuid.uuid4())
            live = i % 20 == 0
            status = "running" if live else ("succeeded" if i % 7 else "failed")
            at = now - (tasks - i) * 1000
            flows.append(dict(flow_id=fid, goal=f"flow {i} nightly batch", status=status, created_at=at,
                              updated_at=at + 500, ended_at=None if live else at + 500))
            for j in range(5):
                st = ("running" if j == 0 else "queued") if live else ("failed" if status == "failed" and j == 4
                                                                       else "succeeded")
                rows.append(dict(task_id=str(uuid.uuid4()), flow=fid, label=f"step-{j}", status=st,
                                 command_json='["true"]', created_at=at, last_event_at=at,
                                 started_at=at if st != "queued" else None,
                                 ended_at=None if st in ("running", "queued") else at + 400))
        with ledger.db.atomic():
            for k in range(0, len(flows), 500):
                m.Flow.insert_many(flows[k:k + 500]).execute()
            for k in range(0, len(rows), 500):
                m.Task.insert_many(rows[k:k + 500]).execute()
            m.Event.insert(at=now, flow_id=flows[0]["flow_id"], kind="bench").execute()


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


COMMITTER = """
import sys, time
from openclaw_board.ledger import Ledger, command_spec
with Ledger(sys.argv[1]) as ledger:
    for line in sys.stdin:
        goal = line.strip()
        ledger.submit(command_spec(goal, ["true"]))
        print(time.time(), flush=True)
"""


async def measure(url: str, commits: int, idle_s: float) -> dict:
    from openclaw_board.board import BoardApp
    from openclaw_board.board.widgets.flowlist import FlowList

    base = rss_mb()
    t0 = time.perf_counter()
    app = BoardApp(url, title="bench", theme="openclaw-dark")
    out: dict = {}
    async with app.run_test(size=(160, 50)) as pilot:
        await app.settled(timeout=120)
        await pilot.pause()
        out["first_frame_s"] = time.perf_counter() - t0
        out["rss_mb"] = rss_mb()
        out["rss_delta_mb"] = out["rss_mb"] - base
        out["rows"] = len(app.query_one(FlowList).rows)
        proc = subprocess.Popen([sys.executable, "-c", COMMITTER, url], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        latencies = []
        flows = app.query_one(FlowList)
        for i in range(commits):
            goal = f"bench commit {i}"
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(goal + "\n")
            proc.stdin.flush()
            last_rows = None
            deadline = time.time() + 30
            while time.time() < deadline:
                rows = flows.rows
                if rows is not last_rows:  # only look again when the board got new rows
                    last_rows = rows
                    if any(r.kind == "flow" and r.flow.goal == goal for r in rows):
                        break
                await asyncio.sleep(0.002)
            seen = time.time()
            committed = float(proc.stdout.readline())
            latencies.append((seen - committed) * 1000)
            await asyncio.sleep(0.15)
        proc.stdin.close()
        proc.wait()
        await app.settled()
        await pilot.pause(0.5)
        cpu0, w0 = os.times(), time.perf_counter()
        await asyncio.sleep(idle_s)
        cpu1, w1 = os.times(), time.perf_counter()
        out["idle_cpu_pct"] = 100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / (w1 - w0)
        latencies.sort()
        out["p50_ms"] = statistics.median(latencies)
        out["p95_ms"] = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        app.exit(app.shutdown())
    return out


def child(tasks: int, commits: int, idle_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OPENCLAW_BOARD_HOME"] = tmp
        url = f"sqlite:///{tmp}/ledger.db"
        fill(url, tasks)
        print(json.dumps(asyncio.run(measure(url, commits, idle_s))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int)
    parser.add_argument("--commits", type=int)
    parser.add_argument("--idle", type=float)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.commits, args.idle)
        return
    sizes = [2_000, 10_000] if args.quick else [10_000, 100_000]
    commits = 10 if args.quick else 30
    idle = 5.0 if args.quick else 30.0
    print("| tasks | flows listed | first frame | RSS (delta) | commit→screen p50 | p95 | idle CPU |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        res = subprocess.run([sys.executable, str(HERE), "--child", str(n), "--commits", str(commits),
                              "--idle", str(idle)], capture_output=True, text=True)
        if res.returncode != 0:
            print(f"| {n:,} | failed: {res.stderr.strip().splitlines()[-1] if res.stderr else res.returncode} |")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"| {n:,} | {r['rows']:,} | {r['first_frame_s']:.2f} s | {r['rss_mb']:.0f} MB "
              f"({r['rss_delta_mb']:+.0f}) | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
              f"{r['idle_cpu_pct']:.2f} % |")


if __name__ == "__main__":
    main()
