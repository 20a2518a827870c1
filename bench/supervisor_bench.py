"""Supervisor benchmark: throughput, per-task wrapper cost, submit->start latency, idle CPU.

    python -m bench.supervisor_bench [--n 1000] [--latency-n 30] [--idle-s 5]

Prints a Markdown table. Everything runs on a fresh SQLite ledger in a temporary state
directory; the floor is a bare `subprocess.run(["true"])` loop on the same machine.
"""

from __future__ import annotations

import argparse
import marshal
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openclaw_board.ledger import Ledger, command_spec
from openclaw_board.supervisor import Supervisor
from openclaw_board.supervisor.rundir import wrapper_argv


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def floor(n: int) -> float:
    """Seconds per bare `true` spawned and waited for."""
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run(["true"], check=True)
    return (time.perf_counter() - t0) / n


def wrapper_cost(n: int, root: Path) -> tuple[float, float]:
    """(wall s, CPU s) per `true` run through the wrapper, spawned the way the supervisor does."""
    dirs = []
    for i in range(n):
        d = root / f"w{i}"
        d.mkdir()
        (d / "spec").write_bytes(marshal.dumps({"command": ["true"], "shell": False}))
        dirs.append(d)
    c0, t0 = children_cpu(), time.perf_counter()
    for d in dirs:
        subprocess.run(wrapper_argv(d), check=True, start_new_session=True)
    return (time.perf_counter() - t0) / n, (children_cpu() - c0) / n


def throughput(n: int, concurrency: int, root: Path) -> dict[str, float]:
    home = root / f"c{concurrency}"
    os.environ["OPENCLAW_BOARD_HOME"] = str(home)
    url = f"sqlite:///{home / 'ledger.db'}"
    with Ledger(url) as ledger:
        t0 = time.perf_counter()
        for _ in range(n):
            ledger.submit(command_spec("bench", ["true"]))
        submit_s = time.perf_counter() - t0
    sup = Supervisor(url, concurrency=concurrency, poll_interval_s=0.2)
    c0, ch0, t0 = time.process_time(), children_cpu(), time.perf_counter()
    sup.run(until_idle=True)
    wall = time.perf_counter() - t0
    with Ledger(url) as ledger:
        done = sum(1 for t in ledger.list_tasks(status="succeeded"))
    assert done == n, f"only {done} of {n} succeeded"
    return {"submit_s": submit_s, "wall": wall, "sup_cpu": time.process_time() - c0,
            "child_cpu": children_cpu() - ch0}


def latency(n: int, root: Path) -> list[float]:
    """ms from submit (created_at) to the task's process recorded (event `started`)."""
    home = root / "lat"
    os.environ["OPENCLAW_BOARD_HOME"] = str(home)
    url = f"sqlite:///{home / 'ledger.db'}"
    ledger = Ledger(url)
    sup = Supervisor(url, concurrency=2, poll_interval_s=0.2)
    thread = sup.start_thread()
    sup.ready.wait(30)
    ids = []
    for i in range(n):
        time.sleep(0.05 + (i % 7) * 0.013)  # not in step with the poll interval
        ids.append(ledger.submit(command_spec("lat", ["true"]))[1]["main"])
    while any(ledger.get_task(t).status != "succeeded" for t in ids):
        time.sleep(0.1)
    sup.request_stop()
    thread.join(30)
    out = []
    for tid in ids:
        task = ledger.get_task(tid)
        started = next(e.at for e in ledger.task_events(tid) if e.kind == "started")
        out.append(float(started - task.created_at))
    ledger.close()
    return out


def idle_cpu(seconds: float, root: Path) -> float:
    """CPU seconds per wall second of an idle `supervise` process (after a 1 s warm-up)."""
    home = root / "idle"
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "supervise", "--quiet"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)

        def cpu() -> float:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        c0, t0 = cpu(), time.perf_counter()
        time.sleep(seconds)
        return (cpu() - c0) / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="trivial tasks per throughput run")
    ap.add_argument("--latency-n", type=int, default=30)
    ap.add_argument("--idle-s", type=float, default=5.0)
    args = ap.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory(prefix="ocb-bench-") as tmp:
        root = Path(tmp)
        per_floor = floor(n)
        w_wall, w_cpu = wrapper_cost(min(n, 200), root)
        rows = [("bare `subprocess.run(['true'])` loop (floor)", f"{1 / per_floor:,.0f} tasks/s",
                 f"{per_floor * 1000:.2f} ms/task", "1.00x")]
        rows.append(("wrapper alone (`python -I -S`, runs `true`)", f"{1 / w_wall:,.0f} tasks/s",
                     f"{w_wall * 1000:.2f} ms/task wall, {w_cpu * 1000:.2f} ms CPU", f"{w_wall / per_floor:.1f}x"))
        for conc in (1, 2):
            r = throughput(n, conc, root)
            rate = n / r["wall"]
            rows.append((f"{n} x `true` via submit + supervisor + ledger, concurrency {conc}",
                         f"{rate:,.0f} tasks/s",
                         f"{r['wall'] / n * 1000:.1f} ms/task wall; supervisor CPU "
                         f"{r['sup_cpu'] / n * 1000:.1f} ms, wrapper+task CPU {r['child_cpu'] / n * 1000:.1f} ms; "
                         f"submit {r['submit_s'] / n * 1000:.1f} ms",
                         f"{(r['wall'] / n) / per_floor:.1f}x"))
        lat = sorted(latency(args.latency_n, root))
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        rows.append((f"latency submit -> process started ({len(lat)} tasks, idle supervisor, poll 0.2 s)",
                     f"median {statistics.median(lat):.0f} ms", f"p95 {p95:.0f} ms, max {lat[-1]:.0f} ms", ""))
        idle = idle_cpu(args.idle_s, root)
        rows.append((f"idle `supervise` process CPU ({args.idle_s:g} s)", f"{idle * 100:.2f}% of a core",
                     f"{idle * 1000:.1f} ms CPU per s", ""))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}\n")
    print("| measure | rate | cost | vs floor |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
