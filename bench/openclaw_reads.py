"""How long reading an OpenClaw ledger takes, by ledger size: open, a full read, a read with
nothing changed (one PRAGMA data_version), the audit, and a read after the gateway wrote.

    /work/venv/bin/python bench/openclaw_reads.py [SIZES...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from openclaw_fixtures import MIN, NOW, OpenClawFile  # noqa: E402

from openclaw_board.ledger.clock import fixed_clock  # noqa: E402
from openclaw_board.ledger.openclaw import OpenClawLedger  # noqa: E402

STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost")


def build(path: Path, n: int) -> OpenClawFile:
    fx = OpenClawFile(path)
    fx.conn.execute("BEGIN")
    flows = [fx.add_flow(goal=f"flow {i}") for i in range(max(1, n // 10))]
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        fx.add_task(status=status, parent_flow_id=flows[i % len(flows)] if i % 2 else None,
                    label=f"task {i}", created_at=NOW - i * MIN, started_at=NOW - i * MIN,
                    ended_at=None if status in ("queued", "running") else NOW - i * MIN + 1000,
                    cleanup_after=NOW + 1000 if i % 3 else None)
    fx.conn.execute("COMMIT")
    return fx


def ms(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main(sizes: list[int]) -> None:
    heads = ("tasks", 7), ("open ms", 8), ("full read ms", 13), ("unchanged ms", 13), ("audit ms", 9), \
        ("after write ms", 15)
    print(" ".join(f"{h:>{w}}" for h, w in heads))
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "openclaw.sqlite"
            fx = build(path, n)
            t0 = time.perf_counter()
            led = OpenClawLedger(f"openclaw://{path}", clock=fixed_clock(NOW))
            open_ms = (time.perf_counter() - t0) * 1000
            full = ms(led.refresh)
            unchanged = ms(led.task_pressure, repeat=50)
            audit = ms(led.audit)
            task_id = fx.add_task(label="new")

            def after_write(fx: OpenClawFile = fx, led: OpenClawLedger = led, task_id: str = task_id) -> None:
                fx.update_task(task_id, last_event_at=int(time.time() * 1000))
                led.task_pressure()

            after = ms(after_write)
            print(f"{n:>7} {open_ms:>8.1f} {full:>13.1f} {unchanged:>13.3f} {audit:>9.1f} {after:>15.1f}")
            led.close()
            fx.close()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000, 20000])
