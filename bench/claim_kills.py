"""Fast kill -9s of working supervisors (issue 11): is any task lost, run twice, or never run?

    python -m bench.claim_kills                          # 200 tasks, SQLite and PostgreSQL
    python -m bench.claim_kills --tasks 50 --db sqlite
    python -m bench.claim_kills --code /path/to/other/checkout   # the same run on other code

A `supervise --concurrency 4` process is started, given 0.4-1.2 s once it has registered, and
killed with SIGKILL; again and again until every task has ended (then one `supervise
--until-idle` settles what is left). Each task appends a line to its own file when its
command starts, so "ran" is counted on disk. The table says how many attempts ended `lost`,
how many claims were put back in the queue (`requeued` events), and how many tasks ran
twice or never. A correctness figure, not a timing: it is the same on a fast machine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

from .common import bench_env, cli, pg_reason, pg_schema, scratch, sqlite_url

SCRIPT = 'echo run >> "$0"; sleep 0.2'
ACTIVE = ("queued", "running", "awaiting_approval")


def once(url: str, home: Path, tasks: int, code: str | None, seed: int, max_kills: int) -> dict[str, object]:
    from openclaw_board.ledger import Ledger, parse_spec

    env = bench_env(home)
    if code:  # and run there: `python -m` puts the working directory first on sys.path
        env["PYTHONPATH"] = code
    counts = home / "counts"
    counts.mkdir(parents=True)
    labels = [f"t{i:03d}" for i in range(tasks)]
    rng = random.Random(seed)
    kills = 0
    with Ledger(url) as ledger:
        flow_id, _ = ledger.submit(parse_spec({"goal": "kills", "tasks": [
            {"label": x, "command": ["sh", "-c", SCRIPT, str(counts / x)]} for x in labels]}))
        Task, S, Event = ledger.m.Task, ledger.m.Supervisor, ledger.m.Event

        def active() -> int:
            return Task.select().where((Task.flow == flow_id) & Task.is_latest & Task.status.in_(ACTIVE)).count()

        while active() and kills < max_kills:
            before = S.select().count()
            proc = subprocess.Popen(cli("--db", url, "supervise", "--concurrency", "4", "--quiet"), env=env, cwd=code,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while S.select().count() == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.4, 1.2))
            proc.kill()
            proc.wait()
            kills += 1
        subprocess.run(cli("--db", url, "supervise", "--until-idle", "--quiet"), env=env, cwd=code, timeout=600,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        attempts = list(Task.select().where(Task.flow == flow_id))
        requeued = Event.select().where((Event.flow_id == flow_id) & (Event.kind == "requeued")).count()
        for t in attempts:
            if t.status == "lost":  # what was on disk, and what the ledger says, for each lost attempt
                where = Path(t.run_dir) if t.run_dir else None
                files = sorted(p.name for p in where.iterdir()) if where and where.is_dir() else []
                print(f"lost {t.label}: run dir {files}; events "
                      f"{[(e.kind, e.detail) for e in ledger.task_events(t.task_id)]}", file=sys.stderr)
    ran = {x: len((counts / x).read_text().splitlines()) if (counts / x).exists() else 0 for x in labels}
    return {
        "tasks": tasks, "kills": kills, "requeued": requeued,
        "lost": sum(1 for t in attempts if t.status == "lost"),
        "ran twice": sum(1 for n in ran.values() if n > 1),
        "never ran": sum(1 for n in ran.values() if n == 0),
        "succeeded": sum(1 for t in attempts if t.is_latest and t.status == "succeeded"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.claim_kills", description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--code", help="a checkout whose openclaw_board the supervisors run (default: this one)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--max-kills", type=int, default=400)
    args = ap.parse_args(argv)
    rows = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        if db == "postgres" and pg_reason():
            print(f"postgres skipped: {pg_reason()}", file=sys.stderr)
            continue
        with scratch() as home:
            if db == "sqlite":
                rows.append((db, once(sqlite_url(home), home, args.tasks, args.code, args.seed, args.max_kills)))
            else:
                with pg_schema() as url:
                    rows.append((db, once(url, home, args.tasks, args.code, args.seed, args.max_kills)))
    keys = ["tasks", "kills", "requeued", "lost", "ran twice", "never ran", "succeeded"]
    print(f"code: {args.code or 'this checkout'}")
    print("| ledger | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for db, row in rows:
        print(f"| {db} | " + " | ".join(str(row[k]) for k in keys) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
