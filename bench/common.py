"""What every benchmark shares: repeated runs and their spread, rows of the table, the
Markdown and JSON renderings, the machine's description, and throw-away ledgers.

A figure is a `Row`: our value and, where there is one, the peer's or the floor's, each a
`Stat` (every run's value, shown as median with min and max). The ratio is always
ours / peer of the medians, so read it with the unit: for tasks/s below 1 means slower, for
ms or MB above 1 means slower or bigger.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("OPENCLAW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Stat:
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def as_json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": self.values}


@dataclass
class Row:
    section: str
    figure: str
    unit: str
    ours: Stat | None
    peer: Stat | None = None
    peer_name: str = ""
    note: str = ""
    skipped: str = ""  # the reason, when the figure could not be measured here

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.peer is None or self.peer.median == 0:
            return None
        return self.ours.median / self.peer.median

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section, "figure": self.figure, "unit": self.unit,
            "ours": self.ours.as_json() if self.ours else None,
            "peer_name": self.peer_name or None,
            "peer": self.peer.as_json() if self.peer else None,
            "ratio": self.ratio, "note": self.note or None, "skipped": self.skipped or None,
        }


def skipped(section: str, figure: str, reason: str) -> Row:
    return Row(section, figure, "", None, skipped=reason)


def collect(runs: int, once: Callable[[int], dict[str, float]]) -> dict[str, Stat]:
    """Run `once(i)` `runs` times; {key: Stat of that key over the runs}."""
    results = [once(i) for i in range(runs)]
    return {key: Stat([r[key] for r in results]) for key in results[0]}


def num(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.3f}"


def cell(stat: Stat | None, unit: str) -> str:
    if stat is None:
        return ""
    text = f"{num(stat.median)} {unit}".strip()
    if len(stat.values) > 1:
        text += f" ({num(stat.min)}–{num(stat.max)})"
    return text


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| section | figure | ours: median (min–max) | peer or floor: median (min–max) | ratio ours ÷ peer |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        if row.skipped:
            lines.append(f"| {row.section} | {row.figure} | skipped: {row.skipped} | | |")
            continue
        peer = f"{row.peer_name}: {cell(row.peer, row.unit)}" if row.peer else row.peer_name
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        figure = row.figure + (f" ({row.note})" if row.note else "")
        lines.append(f"| {row.section} | {figure} | {cell(row.ours, row.unit)} | {peer} | {ratio} |")
    return "\n".join(lines)


# -- the machine ----------------------------------------------------------------------


class LoadSampler:
    """The 1-minute load average, sampled every few seconds while the benchmarks run."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        return {"min": min(self.samples), "median": statistics.median(self.samples), "max": max(self.samples)}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return None


def machine() -> dict[str, Any]:
    packages = ("openclaw-board", "peewee", "textual", "rich", "typer", "huey", "psycopg2-binary")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "mem_total_gb": _mem_total_gb(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in packages},
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


# -- throw-away ledgers and processes -------------------------------------------------


@contextlib.contextmanager
def scratch(prefix: str = "ocb-bench-") -> Iterator[Path]:
    """A private directory removed afterwards (state dirs, SQLite ledgers, huey files)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'ledger.db'}"


def pg_reason() -> str | None:
    """None when the PostgreSQL server answers, else why the PG figures are skipped."""
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed (pip install 'openclaw-board[postgres]')"
    try:
        psycopg2.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is a reason to skip
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL at {PG_BASE}: {first}"
    return None


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A ledger URL on a schema of its own, dropped afterwards."""
    import uuid

    import psycopg2

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: its own state dir, the repository importable."""
    env = {**os.environ, "OPENCLAW_BOARD_HOME": str(home), **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("OPENCLAW_BOARD_DB", None)
    return env


def cli(*args: str) -> list[str]:
    """argv of the openclaw-board CLI with this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "openclaw_board", *args]


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.02, what: str = "condition") -> float:
    """Poll `check` until true; returns the perf_counter time it became true."""
    deadline = time.perf_counter() + timeout
    while True:
        if check():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
