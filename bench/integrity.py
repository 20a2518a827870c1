"""What `PRAGMA quick_check` costs, on ledgers of 10k and 100k tasks (bench/bulk.py).

The supervisor runs it once when it starts and `audit` runs it first (ledger/db.py,
`quick_check`), so that a page of random bytes in the middle of the ledger is found there
rather than when some later query happens to read that page. This measures what that
adds: the check alone with the pages in the OS cache (the common case for a ledger in use;
a cold cache is not measured: dropping it would disturb everything else on the machine),
next to the cost of opening the ledger and of `PRAGMA integrity_check` (which also
cross-checks every index, for comparison).

    python -m bench.integrity              # 10k and 100k tasks, 3 runs each
    python -m bench.integrity --tasks 100000 --runs 5
"""

from __future__ import annotations

import argparse
import sqlite3
import time

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.db import quick_check

from .bulk import fill
from .common import Row, Stat, machine, markdown_table, scratch, sqlite_url

SECTION = "integrity"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def measure(tasks: int, runs: int) -> list[Row]:
    with scratch() as home:
        url = sqlite_url(home)
        fill(url, tasks, live=False)
        db_file = home / "ledger.db"
        size_mb = db_file.stat().st_size / 1e6
        note = f"{tasks:,} tasks, {size_mb:.0f} MB"
        with Ledger(url) as led:
            assert quick_check(led.db) is None
            opened = Stat([_timed(lambda: Ledger(url).close()) for _ in range(runs)])
            warm = Stat([_timed(lambda: quick_check(led.db)) for _ in range(runs)])
        full: list[float] = []
        for _ in range(runs):
            conn = sqlite3.connect(db_file)
            full.append(_timed(lambda c=conn: c.execute("PRAGMA integrity_check").fetchall()))
            conn.close()
        rows = [
            Row(SECTION, "open the ledger (connect + schema checks)", "ms", opened, note=note),
            Row(SECTION, "PRAGMA quick_check (supervisor start, audit)", "ms", warm, note=note),
            Row(SECTION, "PRAGMA integrity_check (not used: for comparison)", "ms", Stat(full), note=note),
        ]
        return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.integrity", description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    rows: list[Row] = []
    for n in args.tasks:
        rows += measure(n, args.runs)
    info = machine()
    print(f"{info['date']} · {info['nproc']} CPUs ({info['cpu_model']}) · SQLite {info['sqlite']}\n")
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
