"""Listing: `tasks list --json` and `flows list --json` over big ledgers (bench/bulk.py):
wall time and peak memory (ru_maxrss of that one child, from os.wait4), output to a file.

The floor is a bare Python process that reads the same rows with sqlite3 (latest attempts,
newest first; every flow, newest first) and prints them with json.dumps: what listing the
ledger as JSON costs with no CLI framework or ORM: the same fields and the same
json.dumps(indent=2), timestamps left as integers.

Peak memory comes from `/usr/bin/time -f %M` when it exists: a child's ru_maxrss seen by
this process would include this (big) process's RSS at fork, which Linux carries over exec.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .common import Row, Stat, bench_env, cli, scratch, sqlite_url

SECTION = "listing"

FLOOR = """
import json, sqlite3, sys
from collections import defaultdict
conn = sqlite3.connect(sys.argv[1])
conn.row_factory = sqlite3.Row
if sys.argv[2] == "tasks":
    rows = [dict(r) for r in conn.execute(
        "SELECT task_id, flow_id, label, runtime, status, attempt, parent_task_id, command_json, exit_code, "
        "error, progress, progress_summary, terminal_summary, created_at, started_at, ended_at, "
        "cancel_requested_at, supervisor_id, host, pid FROM task WHERE is_latest = 1 "
        "ORDER BY created_at DESC, label DESC, attempt DESC")]
    for r in rows:
        r["command"] = json.loads(r.pop("command_json"))
else:
    counts = defaultdict(dict)
    for fid, status, n in conn.execute(
            "SELECT flow_id, status, count(*) FROM task WHERE is_latest = 1 GROUP BY flow_id, status"):
        counts[fid][status] = n
    rows = [dict(r) for r in conn.execute(
        "SELECT flow_id, goal, label, status, notify, cancel_requested_at, created_at, updated_at, ended_at "
        "FROM flow ORDER BY created_at DESC, flow_id")]
    for r in rows:
        r["task_counts"] = dict(sorted(counts[r["flow_id"]].items()))
sys.stdout.write(json.dumps({"count": len(rows), sys.argv[2]: rows}, indent=2, ensure_ascii=False) + "\\n")
"""


TIME = "/usr/bin/time"


def timed(argv: list[str], env: dict[str, str], out: Path) -> dict[str, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    report = out.with_suffix(".rss")
    if os.path.exists(TIME):
        argv = [TIME, "-f", "%M", "-o", str(report), *argv]
    with open(out, "wb") as sink:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv[-4:])} exited {proc.returncode}: {err.strip()[-300:]}")
    if proc.stderr:
        proc.stderr.close()
    kb = int(report.read_text().split()[-1]) if report.exists() else usage.ru_maxrss
    return {"wall_s": wall, "rss_mb": kb / 1024, "bytes": out.stat().st_size}


def run(quick: bool, runs: int) -> list[Row]:
    from .bulk import fill

    rows: list[Row] = []
    for size in (10_000,) if quick else (10_000, 100_000):
        with scratch() as home:
            url = sqlite_url(home)
            os.environ["OPENCLAW_BOARD_HOME"] = str(home)
            fill(url, size)
            env = bench_env(home)
            db_path = str(home / "ledger.db")
            for what in ("tasks", "flows"):
                ours = [timed(cli("--db", url, what, "list", "--json"), env, home / "out.json") for _ in range(runs)]
                floor = [timed([sys.executable, "-c", FLOOR, db_path, what], env, home / "floor.json")
                         for _ in range(runs)]
                tag = f"`{what} list --json`, {size:,} tasks"
                mb = ours[0]["bytes"] / 1e6
                rows.append(Row(SECTION, f"{tag}: wall time", "s", Stat([r["wall_s"] for r in ours]),
                                Stat([r["wall_s"] for r in floor]), "floor: sqlite3 + json.dumps",
                                note=f"{mb:.1f} MB of JSON"))
                rows.append(Row(SECTION, f"{tag}: peak memory", "MB", Stat([r["rss_mb"] for r in ours]),
                                Stat([r["rss_mb"] for r in floor]), "floor: sqlite3 + json.dumps"))
    return rows
