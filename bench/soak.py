"""`python -m bench.soak`: the chaos soak. Every topology at once on one ledger, faults
injected all along, then the ledger held against what really happened.

    python -m bench.soak --minutes 1                  # SQLite and PostgreSQL (when it answers)
    python -m bench.soak --minutes 20 --db postgres --seed 7

On one ledger (a fresh SQLite file, or a fresh schema of the PostgreSQL at
postgresql://postgres@127.0.0.1:5432/test; skipped with the reason when no server answers):
- `openclaw-board board` with its embedded supervisor, in a real pty, on host "alpha";
- `openclaw-board supervise` on host "alpha" and on host "beta" (OPENCLAW_BOARD_HOST);
- CLI writers: `submit --goal ... -- CMD`, spec files with `after`, retries, timeouts and
  approval, `tasks cancel/retry/approve/deny`, `flows cancel/reopen`, reads;
- chaos (bench/soak_actors.py), every couple of seconds: SIGKILL, or SIGSTOP then SIGCONT
  (shorter or longer than the lease), of a supervisor (the board included) or of a task's
  wrapper; storms of kills; the board alone with the CLI; what it killed comes back after a
  moment. Between faults an operator browses the board with the keyboard.
Every task runs bench/soak_task.py, which writes what it did to a marker file. When the
time is up the chaos stops, host "beta" dies (its supervisor and its runs SIGKILLed), the
board and the other supervisor are stopped, one `supervise --until-idle` on "alpha" drains
the rest (the dead host's lease included), and bench/soak_checks.py judges: a Markdown
table, one row per check and two columns per database (what it looked at, what was wrong),
then the offending ids of every failing check. The exit status is 1 when any check fails.
The SQLite and PostgreSQL soaks run one after the other, each on a fresh ledger.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import PG_BASE, bench_env, cli, pg_reason, sqlite_url
from .soak_actors import Chaos, Writer
from .soak_checks import Check, Verdict, registrations
from .soak_record import DEFAULT_LEASE_S, Plan, Record
from .soak_world import CLI_TIMEOUT_S, QUIT_S, Board, Supervise, pidfd_signal, run_cli, soak_processes

HOSTS = ("alpha", "beta")
DRAIN_S = 180.0  # longest a drain may take: a dead host's lease, then tasks of up to 6 s, retries and backoffs
SHOWN = 8  # offending ids shown per failing check

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class SoakResult:
    db: str
    checks: list[Check] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""  # why this database was not soaked
    error: str = ""  # the soak itself broke (not a finding about the product)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.violations]

    @property
    def ok(self) -> bool:
        return not self.error and not self.failures

    def describe_failures(self, shown: int = SHOWN) -> str:
        lines = [f"{self.db}: the soak itself failed: {self.error}"] if self.error else []
        for check in self.failures:
            lines.append(f"{self.db} · {check.name}: {len(check.violations)} violation(s)")
            lines += [f"  - {v}" for v in check.violations[:shown]]
            if len(check.violations) > shown:
                lines.append(f"  - ... and {len(check.violations) - shown} more")
        return "\n".join(lines)


@contextlib.contextmanager
def _place(db: str, keep: Callable[[], bool], log: Log) -> Iterator[tuple[Path, str]]:
    """A fresh state directory and ledger (SQLite file, or PostgreSQL schema); both removed
    afterwards unless `keep()` says to keep them for a post-mortem."""
    home = Path(tempfile.mkdtemp(prefix="ocb-soak-"))
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    conn = None
    if db == "sqlite":
        url = sqlite_url(home)
    else:
        import psycopg2

        conn = psycopg2.connect(PG_BASE)
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    try:
        yield home, url
    finally:
        if keep():
            log(f"{db}: kept for a post-mortem: state dir {home}, ledger {url}")
        else:
            shutil.rmtree(home, ignore_errors=True)
            if conn is not None:
                conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        if conn is not None:
            conn.close()


def run_soak(db: str, seconds: float, *, seed: int | None = None, writers: int = 2, keep: bool = False,
             lease_s: float = DEFAULT_LEASE_S, log: Log = _stderr) -> SoakResult:
    """One soak of `seconds` of chaos on `db` ("sqlite" or "postgres"), then the drain and the checks.
    `lease_s`: the standalone supervisors' --lease (shorter: the end's wait for a dead host is
    shorter). `keep`: leave the state directory and the ledger in place when a check fails."""
    if db == "postgres":
        reason = pg_reason()
        if reason:
            log(f"postgres: skipped: {reason}")
            return SoakResult(db, skipped=reason)
    seed = random.randrange(1 << 30) if seed is None else seed
    result = SoakResult(db, error="did not finish")
    with _place(db, lambda: keep and not result.ok, log) as (home, url):
        try:
            result = _soak(db, url, home, seconds, seed, writers, Record(lease_s), log)
        finally:
            _kill_leftovers(home)
    return result


def _soak(db: str, url: str, home: Path, seconds: float, seed: int, n_writers: int, record: Record,
          log: Log) -> SoakResult:
    result = SoakResult(db)
    for sub in ("markers", "specs", "soak-logs"):
        (home / sub).mkdir(mode=0o700)
    # They all start at once on a ledger nobody created yet, as a deploy would start them.
    board = Board("board", HOSTS[0], url, home, record)
    beta = Supervise("sup-b", HOSTS[1], url, home, record)
    actors = [board, Supervise("sup-a", HOSTS[0], url, home, record), beta]
    for actor in actors:
        actor.start()
    assert board.pty is not None
    try:
        board.pty.wait_for(re.compile(rb"Flow pressure:"), 0, 120)
    except TimeoutError as exc:
        result.error = f"the board never drew its first frame: {exc}"
    stop = threading.Event()
    chaos = Chaos(actors, home, record, seed, stop)
    writers = [Writer(i, url, home, record, seed * 31 + i, stop, chaos.poke) for i in range(n_writers)]
    log(f"{db}: seed {seed}; board and supervisors on {', '.join(HOSTS)} up; {len(writers)} writers "
        f"and the chaos for {seconds:g} s")
    started = time.time()
    for thread in (*writers, chaos):
        thread.start()
    while not stop.wait(min(15.0, max(0.0, started + seconds - time.time()))):
        if time.time() >= started + seconds:
            break
        log(f"{db}: {time.time() - started:.0f} s: {len(record.flows)} flows accepted, "
            f"{len(record.calls)} CLI calls, {len(record.faults)} faults")
    stop.set()
    for thread in (*writers, chaos):
        thread.join(CLI_TIMEOUT_S + 30)
    for thread in (*writers, chaos):
        if thread.error is not None:
            result.error = f"{thread.name} broke: {type(thread.error).__name__}: {thread.error}"
    chaos_s = time.time() - started
    log(f"{db}: chaos over after {chaos_s:.0f} s; host {HOSTS[1]} dies, the board and the other "
        f"supervisor stop, one `supervise --until-idle` on {HOSTS[0]} drains")
    for actor in actors:
        actor.check_unexpected()
    _final_wave(url, home, record, beta)
    died = _host_dies(url, home, record, beta)
    log(f"{db}: {time.time() - started:.0f} s: host {beta.host} died with {died} runs; draining")
    board_quit = "yes"
    for actor in actors:
        if actor.poll() is None and not actor.shutdown():
            log(f"{db}: {actor.name} did not stop when asked (`q` or SIGTERM)")
            if actor is board:
                board_quit = "no"
                record.unexpected_exits.append(
                    f"{actor.name} did not exit by itself with 0 within {QUIT_S:.0f} s of `q` "
                    f"(it ended {board.last_code}; killed when negative)")
            else:
                record.unexpected_exits.append(f"{actor.name} did not stop within 30 s of SIGTERM")
        record.outputs.extend(actor.outputs)
    drain_started = time.time()
    _drain(url, home, record, HOSTS[0])
    drain_s = time.time() - drain_started
    leftovers = soak_processes(home)
    audit_call = run_cli(url, home, record, "audit", "--json")
    try:
        audit = json.loads(audit_call.stdout)
    except ValueError:
        audit = None
    log(f"{db}: {time.time() - started:.0f} s: drained in {drain_s:.0f} s; checking")
    verdict = Verdict(record, home, url, is_sqlite=db == "sqlite", audit=audit, leftovers=leftovers)
    result.checks = verdict.checks()
    attempts = len(verdict.tasks)
    result.stats = {
        "seed": seed, "chaos (s)": round(chaos_s), "drain (s)": round(drain_s),
        "flows": len(record.flows), "attempts": attempts,
        "runs": sum(len(r.starts) for r in verdict.markers.values()),
        "CLI calls": len(record.calls), "board quit on q": board_quit, **record.fault_counts(),
    }
    return result


def _final_wave(url: str, home: Path, record: Record, sup: Supervise) -> None:
    """Long tasks for every supervisor, until `sup` runs some (its wrappers are its children):
    its host's death then surely leaves runs that only its lease can settle."""
    deadline = time.time() + 60
    while sup.pid not in registrations(home) and time.time() < deadline:
        time.sleep(0.2)  # a supervisor restarted at the chaos's end may take seconds to register
    tag = uuid.uuid4().hex[:6]
    plans = [Plan(f"w{i}", f"final-{tag}-{i}", [0], 6.0, retries=1) for i in range(8)]
    path = home / "specs" / f"final-{tag}.toml"
    path.write_text(f'goal = "soak final wave {tag}"\nnotify = "silent"\n\n'
                    + "\n".join(p.toml(home / "markers") for p in plans))
    call = run_cli(url, home, record, "submit", str(path), "--json")
    if call.code != 0:
        return
    doc = json.loads(call.stdout)
    record.accepted(doc["flow_id"], plans, doc["tasks"])
    wave = set(doc["tasks"].values())
    deadline = time.time() + 30
    while time.time() < deadline and not any(
            p.kind == "wrapper" and p.what in wave and p.ppid == sup.pid for p in soak_processes(home)):
        time.sleep(0.2)


def _host_dies(url: str, home: Path, record: Record, sup: Supervise) -> int:
    """Host `sup.host` dies for good: its supervisor, and every run the ledger has on it
    (wrapper and command), SIGKILLed. Those runs may rightly end lost; the drain on the other
    host must judge the dead host's lease before it may call itself idle. How many runs died."""
    from openclaw_board.ledger import Ledger

    record.outage(sup.host, sup.name)
    sup.kill()
    with Ledger(url) as ledger:  # a read; every write of the soak goes through the CLI
        running = [t.task_id for t in ledger.running_on_host(sup.host)]
    procs = soak_processes(home)
    with record.lock:
        record.dead_host_runs.update(running)
    mine = str(home).encode()
    for task_id in running:
        # The wrapper first: killed second, it could still record its command's death by SIGKILL
        # as a result ("failed"), which a host that died whole never gets to do.
        for wrapper in (p for p in procs if p.kind == "wrapper" and p.what == task_id):
            commands = [p for p in procs if p.kind == "command" and p.ppid == wrapper.pid]
            pidfd_signal(wrapper.pid, signal.SIGKILL, mine)
            for command in commands:
                pidfd_signal(command.pid, signal.SIGKILL, mine)
    record.fault(sup.name, "host death", f"{sup.host}, {len(running)} runs")
    return len(running)


def _drain(url: str, home: Path, record: Record, host: str) -> None:
    """`supervise --until-idle` on `host`: it re-attaches that host's runs, expires the dead
    host's lease, and runs whatever is left (retries included) until nothing can run."""
    proc = subprocess.Popen(
        cli("--db", url, "supervise", "--until-idle", "--concurrency", "4", "--kill-grace", "1s",
            "--lease", f"{record.lease_s:g}s"),
        env=bench_env(home, OPENCLAW_BOARD_HOST=host), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=DRAIN_S)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        code, err = None, (err or "") + f"\n(still running after {DRAIN_S:g} s: killed)"
    record.drains.append((host, code, err or ""))


def _kill_leftovers(home: Path) -> None:
    """Whatever of ours still runs (only after a failure): wrappers, commands, by pidfd."""
    for proc in soak_processes(home):
        pidfd_signal(proc.pid, signal.SIGKILL, str(home).encode())


# -- the table ----------------------------------------------------------------------------


def markdown(results: list[SoakResult]) -> str:
    """One row per check; for each database, how many things it looked at and how many were wrong."""
    head = "| check | " + " | ".join(f"{r.db}: checked | {r.db}: violations" for r in results) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(results)]
    names: list[str] = []
    for r in results:
        names += [c.name for c in r.checks if c.name not in names]
    for name in names:
        cells = []
        for r in results:
            check = next((c for c in r.checks if c.name == name), None)
            if r.skipped:
                cells += ["skipped", ""]
            elif check is None or not check.applicable:
                cells += ["n/a", ""]
            else:
                bad = len(check.violations)
                cells += [f"{check.checked:,}", f"**{bad}**" if bad else "0"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(result: SoakResult) -> str:
    if result.skipped:
        return f"- {result.db}: skipped: {result.skipped}"
    stats = ", ".join(f"{k}: {v}" for k, v in result.stats.items())
    verdict = "all checks pass" if result.ok else "FAILED"
    return f"- {result.db}: {verdict} · {stats}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="how long the chaos lasts (default 1)")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--seed", type=int, help="the random choices' seed (timing still varies)")
    ap.add_argument("--writers", type=int, default=2, help="CLI writer threads (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the state directory and ledger of a failed soak")
    ap.add_argument("--lease", type=float, default=DEFAULT_LEASE_S, metavar="SECONDS",
                    help=f"the standalone supervisors' --lease (default {DEFAULT_LEASE_S:g})")
    args = ap.parse_args(argv)
    if args.minutes <= 0:
        ap.error("--minutes must be more than 0")
    if args.writers < 1:
        ap.error("--writers must be at least 1")
    if args.lease < 4:
        ap.error("--lease must be at least 4 seconds (SIGSTOPs shorter than 0.4 of it must never expire it)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    results = [run_soak(db, args.minutes * 60, seed=args.seed, writers=args.writers, keep=args.keep,
                        lease_s=args.lease) for db in dbs]
    print(f"Chaos soak, {args.minutes:g} min per database, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}:\n")
    print("\n".join(summary(r) for r in results))
    print()
    print(markdown(results))
    problems = [r.describe_failures() for r in results if not r.ok]
    if problems:
        print("\nViolations (first few of each):\n")
        print("\n".join(problems))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
