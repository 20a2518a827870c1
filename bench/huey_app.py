"""The huey side of the dispatch benchmark: one task that runs `true` through subprocess.

The consumer imports this module (`huey_consumer bench.huey_app.huey -k process -w N`), so
the queue's file comes from the environment: OPENCLAW_BENCH_HUEY_DB.
"""

from __future__ import annotations

import os
import subprocess

from huey import SqliteHuey

huey = SqliteHuey("bench", filename=os.environ.get("OPENCLAW_BENCH_HUEY_DB", "huey-bench.db"))


@huey.task()
def run_true() -> int:
    return subprocess.run(["true"], check=False).returncode
